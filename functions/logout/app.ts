import type { Hono } from 'hono'
import { type AppDeps, authFor } from '../_shared/auth/authenticate.ts'
import type { Config } from '../_shared/core/config.ts'
import { ApiError, invalidRequest } from '../_shared/core/errors.ts'
import { databaseFor } from '../_shared/db/database.ts'
import { endSessions } from '../_shared/sessions/session_store.ts'
import {
  type AuthEnv,
  createFunctionApp,
  methodNotAllowed,
  requireUser,
} from '../_shared/hono/adapter.ts'
import { createUpstreamClient, upstreamFailure } from '../_shared/upstream/auth_client.ts'

/** The scopes of Supabase Auth's logout; `global` is the default, as in supabase-js. */
const SCOPES = ['global', 'local', 'others'] as const
type Scope = typeof SCOPES[number]

/**
 * `POST /logout[?scope=global|local|others]` with a bearer: ends the session(s) on the auth
 * server, forgets the caller's session on this instance at once, answers 204. Idempotent: a
 * session already ended, or an expired token, still gets 204.
 */
export function createLogoutApp(config: Config, deps: AppDeps = {}): Hono<AuthEnv> {
  const auth = authFor(config, deps)
  // The database ends the sessions of an expired token, which the auth server no longer takes.
  const sql = databaseFor(config, deps)
  const methods = ['POST']
  const app = createFunctionApp<AuthEnv>('logout', { corsOrigins: config.corsOrigins, methods })
  app.post(
    '/',
    // The scope is checked before authentication, so a bad one is a 400 whatever the token.
    (c, next) => {
      readScope(new URL(c.req.url).searchParams)
      return next()
    },
    // An expired token is still authenticated by its signature, issuer and audience: logging out
    // must work after expiry too (RFC 7009 §2.2), and only the signed ids are used.
    requireUser(auth, { session: 'token', allowExpired: true, allowAnonymous: true }),
    async (c) => {
      const scope = readScope(new URL(c.req.url).searchParams)
      const { user, session, token } = c.var.auth
      if (session.expires_at * 1000 > auth.clock.now()) {
        await endOnAuthServer(config, deps.fetch, token, scope)
      } else {
        await endSessions(sql(), user.id, session.id, scope)
      }
      // `others` keeps the caller's own session alive; the other scopes end it.
      if (scope !== 'others') auth.forgetSession(session.id)
      return c.body(null, 204)
    },
  )
  app.all('/', methodNotAllowed(methods))
  return app
}

/** The scope parameter: absent means `global`; anything else but one allowed value is a 400. */
function readScope(query: URLSearchParams): Scope {
  for (const name of query.keys()) {
    if (name !== 'scope') throw invalidRequest('invalidParameter')
  }
  const values = query.getAll('scope')
  if (values.length === 0) return 'global'
  const scope = values[0] as Scope
  if (values.length > 1 || !SCOPES.includes(scope)) throw invalidRequest('invalidScope')
  return scope
}

async function endOnAuthServer(
  config: Config,
  fetchImpl: typeof fetch | undefined,
  token: string,
  scope: Scope,
): Promise<void> {
  const { client, outcome } = createUpstreamClient(config, { fetch: fetchImpl })
  const { error } = await client.auth.admin.signOut(token, scope)
  if (!error) return
  // 401/403/404: the auth server no longer knows this session (already logged out): the goal of
  // the request is met, which is what makes a second logout a 204.
  if (outcome.kind === 'response' && [401, 403, 404].includes(outcome.status ?? 0)) return
  const failure = upstreamFailure(outcome, 'upstreamUnavailable', error)
  // Any other 4xx is not the caller's fault (we verified their token): report the upstream.
  if (failure.status === 400) {
    throw new ApiError(502, 'auth_upstream_unavailable', 'upstreamUnavailable', { cause: error })
  }
  throw failure
}
