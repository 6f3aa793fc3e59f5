/**
 * The benchmark's own servers: the unauthenticated baselines and edge-auth's `requireUser`. Every
 * app serves `GET /me` with the same body, `{"id": <user>}`. This module loads no more than
 * edge-auth itself does (Hono and jose by subpath), so a cold start through it is edge-auth's.
 *
 * @module
 */
import { type Env, Hono } from 'hono'
import { decodeJwt } from 'jose/jwt/decode'
import { createFunctionApp } from '../../functions/_shared/hono/adapter.ts'
import { authFromConfig } from '../../functions/_shared/auth/from_env.ts'
import { loadConfig } from '../../functions/_shared/core/config.ts'
import { type AuthEnv, requireUser } from '../../functions/_shared/hono/adapter.ts'
import { SECURITY_HEADERS } from '../../functions/_shared/core/responses.ts'

/** A fetch handler, what `deno serve` wants as the default export. */
export type FetchHandler = (request: Request) => Response | Promise<Response>

/** The smallest server Deno has: the ceiling of what this machine and wrk can do together. */
export function trivialHandler(): FetchHandler {
  const body = JSON.stringify({ id: 'anonymous' })
  return () => new Response(body, { headers: { 'Content-Type': 'application/json' } })
}

/** Case 0, the baseline: the route in a plain Hono app, no authentication. */
export function honoBaseline(): FetchHandler {
  const app = new Hono()
  app.get('/me', (c) => c.json({ id: 'anonymous' }))
  return app.fetch
}

/**
 * The baseline plus the headers the contract puts on every response (`Cache-Control`,
 * `X-Content-Type-Options` and the CORS pair), set in the handler: what those headers cost alone.
 */
export function honoWithHeaders(): FetchHandler {
  const headers = Object.entries({
    ...SECURITY_HEADERS,
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Expose-Headers': 'WWW-Authenticate, Retry-After',
  })
  const app = new Hono()
  app.get('/me', (c) => {
    for (const [name, value] of headers) c.header(name, value)
    return c.json({ id: 'anonymous' })
  })
  return app.fetch
}

/** The route in edge-auth's app factory (CORS, security headers, error rendering), no auth. */
export function factoryBaseline(): FetchHandler {
  const app = factoryApp()
  app.get('/', (c) => c.json({ id: 'anonymous' }))
  return app.fetch
}

/** The app factory as rows 0′, 0‴ and 0⁗ use it: any origin, `GET` only. */
function factoryApp<E extends Env = Env>() {
  return createFunctionApp<E>('me', { corsOrigins: '*', methods: ['GET'] })
}

/**
 * The app factory's route behind one middleware that reads the `Authorization` header and passes
 * its length on: the floor of any bearer authentication in that app (a header read, a middleware,
 * a context variable), with nothing verified.
 */
export function factoryReadingHeader(): FetchHandler {
  const app = factoryApp<{ Variables: { bearerLength: number } }>()
  app.get('/', async (c, next) => {
    c.set('bearerLength', c.req.raw.headers.get('authorization')?.length ?? 0)
    await next()
  }, (c) => c.json({ id: `anonymous-${c.get('bearerLength')}` }))
  return app.fetch
}

/**
 * The app factory's route behind one middleware that does the least any check of a repeated
 * bearer does: it reads the `Authorization` header, looks the token up in a map of the tokens
 * it has seen, and passes the user id it found there on, the same body as row 1. Nothing is
 * verified: on a token not seen before, the id is the payload's `sub`, read as it is. What row 1
 * costs beyond this row is edge-auth's own work (the checks of a cached token, its policy).
 */
export function factoryLookingUp(): FetchHandler {
  const seen = new Map<string, { id: string }>()
  const app = factoryApp<{ Variables: { user: { id: string } } }>()
  app.get('/', async (c, next) => {
    const header = c.req.raw.headers.get('authorization') ?? ''
    const token = header.startsWith('Bearer ') ? header.slice(7) : ''
    let user = seen.get(token)
    if (user === undefined) {
      user = { id: unverifiedSubject(token) }
      seen.set(token, user)
    }
    c.set('user', user)
    await next()
  }, (c) => c.json({ id: c.get('user').id }))
  return app.fetch
}

/**
 * The `sub` of a JWT's payload, unverified. Throws when there is none, so the row answers 500 and
 * the run stops rather than measure a shorter body than row 1's.
 */
function unverifiedSubject(token: string): string {
  const sub = decodeJwt(token).sub
  if (typeof sub !== 'string' || sub === '') throw new Error('bench: a token without sub')
  return sub
}

/**
 * Cases 1 to 3: the route as an edge-auth function builds it, configured from the environment
 * like a deployed function (`SUPABASE_URL`, `EDGE_AUTH_JWT_ISSUER`, `SUPABASE_DB_URL`).
 *
 * @param session `token` (trust the token until `exp`) or `check` (ask PostgreSQL, cached 1 s)
 */
export function oursHandler(session: 'token' | 'check'): FetchHandler {
  const config = loadConfig(Deno.env, { require: session === 'check' ? ['dbUrl'] : [] })
  const auth = authFromConfig(config)
  const app = createFunctionApp<AuthEnv>('me', {
    corsOrigins: config.corsOrigins,
    methods: ['GET'],
  })
  app.get('/', requireUser(auth, { session }), (c) => c.json({ id: c.get('auth').user.id }))
  return app.fetch
}
