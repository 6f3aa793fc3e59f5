/**
 * `GET /me`: the verified identity of the caller and their session, after a session check, so a
 * signed-out session stops working within the session cache TTL instead of at `exp`.
 *
 * @module
 */
import type { Hono } from 'hono'
import { createFunctionApp, methodNotAllowed } from '../_shared/app_factory.ts'
import { type Auth, type AuthDeps, createAuth } from '../_shared/auth.ts'
import type { Config } from '../_shared/config.ts'
import { type AuthEnv, requireUser } from '../_shared/require_user.ts'
import { jsonResponse } from '../_shared/responses.ts'

/** What tests may inject into {@linkcode createMeApp}. */
export interface MeDeps extends AuthDeps {
  /** Ready-made authentication services (default: built from `config` and the other deps). */
  auth?: Auth
}

/**
 * Builds the `me` app.
 *
 * @param config the loaded configuration
 * @param deps injected services
 * @returns the Hono app, routed under `/me`
 */
export function createMeApp(config: Config, deps: MeDeps = {}): Hono<AuthEnv> {
  const auth = deps.auth ?? createAuth(config, deps)
  const app = createFunctionApp<AuthEnv>('me', {
    corsOrigins: config.corsOrigins,
    methods: ['GET'],
  })
  app.get('/', requireUser(auth, { session: 'check' }), (c) => {
    const { user, session } = c.var.auth
    return jsonResponse(200, { user, session })
  })
  app.all('/', methodNotAllowed(['GET']))
  return app
}
