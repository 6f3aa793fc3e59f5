/**
 * `GET /me`: the verified identity of the caller and their session, after a session check, so a
 * signed-out session stops working within the session cache TTL instead of at `exp`. A token
 * issued to an OAuth client is answered too, without what its scopes do not cover.
 *
 * @module
 */
import type { Hono } from 'hono'
import {
  type AppDeps,
  type AuthClient,
  authFor,
  type AuthUser,
  type Config,
} from '@edge-auth/edge-auth'
import {
  type AuthEnv,
  createFunctionApp,
  methodNotAllowed,
  requireUser,
} from '@edge-auth/edge-auth/hono'
import { jsonResponse } from '@edge-auth/edge-auth/http'

/**
 * The user as an OAuth client may see them: the email only with the `email` scope, the user's
 * metadata only with `profile` (a client's token carries both whatever it was granted).
 */
function scopedUser(user: AuthUser, client: AuthClient): AuthUser {
  return {
    ...user,
    email: client.scopes.includes('email') ? user.email : null,
    user_metadata: client.scopes.includes('profile') ? user.user_metadata : {},
  }
}

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
  // OAuth clients too (an MCP client asking who it acts for), each shown what its scopes cover.
  app.get('/', requireUser(auth, { session: 'check', clients: 'any' }), (c) => {
    const { user, session, client } = c.var.auth
    return jsonResponse(200, { user: client === null ? user : scopedUser(user, client), session })
  })
  app.all('/', methodNotAllowed(methods))
  return app
}
