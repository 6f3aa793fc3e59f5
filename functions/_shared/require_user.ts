/**
 * The authentication middleware of user routes: bearer extraction, verification, the route's
 * policy (role, anonymous users, assurance level) and, where asked, the session check; the
 * verified identity lands on `c.var.auth`.
 *
 * @module
 */
import type { MiddlewareHandler } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { Auth } from './auth.ts'
import { extractBearer } from './bearer.ts'
import { insufficientScope, invalidToken } from './errors.ts'
import type { AuthContext } from './identity.ts'

/** The Hono environment of routes behind {@linkcode requireUser}. */
export type AuthEnv = { Variables: { auth: AuthContext } }

/** Options of {@linkcode requireUser}. */
export interface RequireUserOptions {
  /**
   * `check`: also confirm the session is live (a signed-out session fails within the session
   * cache TTL); `token`: trust the token until `exp`.
   */
  session: 'check' | 'token'
  /** The role the route needs (default and only value: `authenticated`). */
  role?: 'authenticated'
  /** Let anonymous sign-in users in (default false). */
  allowAnonymous?: boolean
  /** The assurance level the route needs (default `aal1`); `aal2` answers 403 "mfa required". */
  aal?: 'aal1' | 'aal2'
  /** Accept a token whose only fault is a past `exp` (logout only; default false). */
  allowExpired?: boolean
}

/**
 * Builds the middleware for a route.
 *
 * @param auth the instance's services from `createAuth`
 * @param options the route's policy
 * @returns the middleware
 * @throws {ApiError} (from the middleware) 401 without credentials or with a bad token or a dead
 * session, 400 for a malformed request, 403 when the policy refuses, 503 when keys or the session
 * store are unavailable
 *
 * @example
 * ```ts
 * const auth = createAuth(config)
 * const app = createFunctionApp<AuthEnv>('me', { corsOrigins: config.corsOrigins, methods: ['GET'] })
 * app.get('/', requireUser(auth, { session: 'check' }), (c) => c.json({ id: c.var.auth.user.id }))
 * ```
 */
export function requireUser(auth: Auth, options: RequireUserOptions): MiddlewareHandler<AuthEnv> {
  const role = options.role ?? 'authenticated'
  return createMiddleware<AuthEnv>(async (c, next) => {
    const token = await extractBearer(c)
    const context = options.allowExpired
      ? await auth.verifyIgnoringExpiry(token)
      : await auth.verify(token)
    const { user, session } = context
    if (user.role !== role) throw insufficientScope('roleNotAllowed')
    if (user.is_anonymous && !options.allowAnonymous) throw insufficientScope('anonymousNotAllowed')
    if (options.aal === 'aal2' && user.aal !== 'aal2') throw insufficientScope('mfaRequired')
    if (options.session === 'check' && !(await auth.isSessionActive(session.id, user.id))) {
      throw invalidToken('sessionRevoked')
    }
    c.set('auth', context)
    await next()
  })
}
