import type { Hono } from 'hono'
import { ApiError, type AppDeps, authFor, type Config, invalidRequest } from '@edge-auth/edge-auth'
import {
  type AuthEnv,
  createFunctionApp,
  methodNotAllowed,
  requireUser,
} from '@edge-auth/edge-auth/hono'
import { endSessions } from '@edge-auth/edge-auth/postgres'
import { createUpstreamClient, upstreamFailure } from '@edge-auth/edge-auth/supabase-auth'

/** The scopes of Supabase Auth's logout; `global` is the default, as in supabase-js. */
const SCOPES = ['global', 'local', 'others'] as const
type Scope = typeof SCOPES[number]

/**
 * `POST /logout[?scope=global|local|others]` with a bearer: ends the session(s) on the auth
 * server, or in the database when it refuses the bearer, forgets the caller's session on this
 * instance at once, and answers 204 once the scope's sessions are gone. Idempotent: a session
 * already ended, or an expired token, still gets 204. The database out of reach is a 503, the
 * auth server out of reach a 502 or 504: never a 204 for sessions that may live on.
 */
export function createLogoutApp(config: Config, deps: AppDeps = {}): Hono<AuthEnv> {
  const auth = authFor(config, deps)
  const methods = ['POST']
  const app = createFunctionApp<AuthEnv>('logout', {
    corsOrigins: config.corsOrigins,
    methods,
    query: { 'POST /': ['scope'] },
  })
  app.post(
    '/',
    // The scope is checked before authentication, so a bad one is a 400 whatever the token.
    async (c, next) => {
      readScope(new URL(c.req.url).searchParams)
      await next()
    },
    // An expired token is still authenticated by its signature, issuer and audience: logging out
    // must work after expiry too (RFC 7009 §2.2), and only the signed ids are used.
    requireUser(auth, { session: 'token', allowExpired: true, allowAnonymous: true }),
    async (c) => {
      const scope = readScope(new URL(c.req.url).searchParams)
      const { user, session, token } = c.var.auth
      const ended = session.expires_at * 1000 > auth.clock.now() &&
        await endOnAuthServer(config, deps.fetch, token, scope)
      // The auth server refuses tokens we accept: one that expired on its way there, one whose
      // `nbf` is still ahead of its clock (within our tolerance), a banned user's. We verified
      // the signature, so the ids are authentic: the database ends what the auth server would
      // have, and nothing when the caller's session is already gone (a session that no longer
      // exists grants nothing). Once this returns the scope's sessions are gone; if it cannot
      // run, a 503.
      if (!ended) await endSessions(auth.database(), user.id, session.id, scope)
      // `others` keeps the caller's own session alive; the other scopes end it.
      if (scope !== 'others') auth.forgetSession(session.id)
      return c.body(null, 204)
    },
  )
  app.all('/', methodNotAllowed(methods))
  return app
}

/**
 * The scope parameter: absent means `global`; any value but an allowed one is a 400. Other and
 * repeated parameters are the app's query rule's to refuse, before this runs.
 */
function readScope(query: URLSearchParams): Scope {
  const scope = query.get('scope')
  if (scope === null) return 'global'
  if (!SCOPES.includes(scope as Scope)) throw invalidRequest('invalidScope')
  return scope as Scope
}

/**
 * Ends the sessions on the auth server: `true` once it has, `false` when it refuses the bearer
 * (401, 403 or 404, whatever the error code: the session may be gone, or may live on).
 */
async function endOnAuthServer(
  config: Config,
  fetchImpl: typeof fetch | undefined,
  token: string,
  scope: Scope,
): Promise<boolean> {
  const { client, outcome } = createUpstreamClient(config, { fetch: fetchImpl })
  const { error } = await client.auth.admin.signOut(token, scope)
  if (!error) return true
  if (outcome.kind === 'response' && [401, 403, 404].includes(outcome.status ?? 0)) return false
  const failure = upstreamFailure(outcome, 'upstreamUnavailable', error)
  // Any other 4xx is not the caller's fault (we verified their token): report the upstream.
  if (failure.status === 400) {
    throw new ApiError(502, 'auth_upstream_unavailable', 'upstreamUnavailable', { cause: error })
  }
  throw failure
}
