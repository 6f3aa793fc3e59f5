/**
 * `GET /me`: the verified identity of the caller and their session, after a session check, so a
 * signed-out session stops working within the session cache TTL instead of at `exp`.
 *
 * @module
 */
import type { Hono } from 'hono'
import { type AppDeps, authFor, type Config } from '@edge-auth/edge-auth'
import {
  type AuthEnv,
  createFunctionApp,
  methodNotAllowed,
  requireUser,
} from '@edge-auth/edge-auth/hono'
import { jsonResponse } from '@edge-auth/edge-auth/http'

/**
 * Builds the `me` app: `GET /me` answers `{ user, session }` of a live session, anything else on
 * the route is a 405.
 *
 * @param config read once at boot; `dbUrl` is needed by the session check
 * @param deps what a test swaps in: clock, fetch, session store, database, or whole services
 * @returns the Hono app, routed under `/me`
 */
export function createMeApp(config: Config, deps: AppDeps = {}): Hono<AuthEnv> {
  const methods = ['GET']
  const auth = authFor(config, deps)
  const app = createFunctionApp<AuthEnv>('me', { corsOrigins: config.corsOrigins, methods })
  app.get('/', requireUser(auth, { session: 'check' }), (c) => {
    const { user, session } = c.var.auth
    return jsonResponse(200, { user, session })
  })
  app.all('/', methodNotAllowed(methods))
  return app
}
