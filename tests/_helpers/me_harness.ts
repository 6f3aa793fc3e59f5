// The `me` app in process, with injected keys, clock and session store: what the unit tests of
// the authentication middleware drive through `app.request()`.
import type { Hono } from 'hono'
import { createFunctionApp } from '../../functions/_shared/hono/adapter.ts'
import { type Auth } from '../../functions/_shared/auth/authenticate.ts'
import { authFromConfig } from '../../functions/_shared/auth/from_env.ts'
import type { Config } from '../../functions/_shared/core/config.ts'
import { type AuthEnv, requireUser } from '../../functions/_shared/hono/adapter.ts'
import type { SessionStore } from '../../functions/_shared/core/deps.ts'
import { createMeApp } from '../../functions/me/app.ts'
import { ManualClock, testConfig } from './jwks_server.ts'
import { jwksOf, type TestKey } from './keys.ts'

/** An app under test and what it was built with. */
export interface Harness {
  app: ReturnType<typeof createMeApp>
  auth: Auth
  config: Config
  clock: ManualClock
  /** `GET /me` with an `Authorization` value (none when undefined) and more request options. */
  get(authorization?: string, init?: RequestInit, path?: string): Promise<Response>
  /**
   * A request to the policy test app ({@linkcode policyApp}), GET by default: `/api` (token
   * only, GET and POST), `/api/anonymous-ok`, `/api/aal2`, `/api/expired-ok`.
   */
  api(authorization?: string, init?: RequestInit, path?: string): Promise<Response>
}

/**
 * A Hono app with one route per policy variant, all answering `{ user, session }` like `me`.
 */
export function policyApp(auth: Auth, config: Config): Hono<AuthEnv> {
  const app = createFunctionApp<AuthEnv>('api', {
    corsOrigins: config.corsOrigins,
    methods: ['GET', 'POST'],
  })
  const identity = (c: { var: AuthEnv['Variables']; json: (body: unknown) => Response }) =>
    c.json({ user: c.var.auth.user, session: c.var.auth.session })
  app.get('/', requireUser(auth, { session: 'token' }), identity)
  // POST also proves the handler can still read a body the middleware inspected.
  app.post('/', requireUser(auth, { session: 'token' }), async (c) => {
    const received = await c.req.text()
    return c.json({ user: c.var.auth.user, session: c.var.auth.session, received })
  })
  app.get('/anonymous-ok', requireUser(auth, { session: 'token', allowAnonymous: true }), identity)
  app.get('/aal2', requireUser(auth, { session: 'check', aal: 'aal2' }), identity)
  app.get('/expired-ok', requireUser(auth, { session: 'token', allowExpired: true }), identity)
  return app
}

function requester(app: { request: Hono['request'] }, fallbackPath: string) {
  return (authorization?: string, init: RequestInit = {}, path = fallbackPath) => {
    const headers = new Headers(init.headers)
    if (authorization !== undefined) headers.set('Authorization', authorization)
    return Promise.resolve(app.request(path, { ...init, headers }))
  }
}

/** Options of {@linkcode meHarness}. */
export interface HarnessOptions {
  /** Keys of an inline `SUPABASE_JWKS` (ignored when `SUPABASE_JWKS_URL` is in `vars`). */
  keys?: TestKey[]
  /** More configuration variables. */
  vars?: Record<string, string | undefined>
  /** Session store (default: every session is live). */
  sessionStore?: SessionStore
  /** JWKS fetch. */
  fetch?: typeof fetch
  clock?: ManualClock
}

/** Builds the `me` app with its own authentication services. */
export function meHarness(options: HarnessOptions = {}): Harness {
  const vars: Record<string, string | undefined> = { ...options.vars }
  let fetchImpl = options.fetch
  if (
    options.keys && vars.SUPABASE_JWKS_URL === undefined && vars.EDGE_AUTH_JWKS_URL === undefined
  ) {
    const jwks = jwksOf(...options.keys)
    vars.SUPABASE_JWKS = JSON.stringify(jwks)
    // As on hosted Supabase, the project's JWKS endpoint serves the set that was injected: a kid
    // the injected set lacks is looked up there and is unknown there too.
    fetchImpl ??= () =>
      Promise.resolve(
        new Response(JSON.stringify(jwks), { headers: { 'Content-Type': 'application/json' } }),
      )
  }
  const config = testConfig(vars)
  const clock = options.clock ?? new ManualClock()
  const auth = authFromConfig(config, {
    fetch: fetchImpl,
    sessionStore: options.sessionStore ?? (() => Promise.resolve('live' as const)),
    clock,
  })
  const app = createMeApp(config, { auth })
  return {
    app,
    auth,
    config,
    clock,
    get: requester(app, '/me'),
    api: requester(policyApp(auth, config), '/api'),
  }
}
