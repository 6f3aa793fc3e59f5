/**
 * `POST /sessions/revoke {"user_id": "<uuid>"}` with a secret key in `apikey`: ends every session
 * of that user, for server callers (an operator's script, a pg_cron job) when an account is
 * compromised. Supabase Auth's admin API cannot do this without one of the user's own tokens.
 *
 * @module
 */
import type { Hono } from 'hono'
import { type AppDeps, authFor, type Config, invalidRequest, isUuid } from '@edge-auth/edge-auth'
import {
  createFunctionApp,
  type CredentialEnv,
  methodNotAllowed,
  requireCredentials,
} from '@edge-auth/edge-auth/hono'
import { type BodyFields, readJsonBody } from '@edge-auth/edge-auth/http'
import { revokeUserSessions } from '@edge-auth/edge-auth/postgres'

/** The body: a user's id, a UUID of 36 characters; the size cap follows from it. */
const FIELDS: BodyFields<'user_id'> = { user_id: { required: true, maxLength: 36 } }

/**
 * Builds the `sessions` app. `POST /sessions/revoke` takes any of the project's secret keys
 * (each one is a service_role key already) and nothing else: a user's token, the publishable key
 * or no key is 401 `invalid_api_key`. It answers 204 whether the user had sessions, had none, or
 * does not exist, so the route tells no caller which users exist, and a repeat is a 204 too.
 * Within the session cache TTL every instance refuses the user's access tokens; their refresh
 * tokens die with the sessions at once.
 *
 * @param config the loaded configuration (`dbUrl` and a secret key)
 * @param deps injected clock, fetch, database or authentication services
 * @returns the Hono app, routed under `/sessions`
 */
export function createSessionsApp(config: Config, deps: AppDeps = {}): Hono<CredentialEnv> {
  const auth = authFor(config, deps)
  const methods = ['POST']
  const cors = { corsOrigins: config.corsOrigins, methods }
  const app = createFunctionApp<CredentialEnv>('sessions', cors)
  app.post(
    '/revoke',
    // The credential before the body, so a caller without the key learns nothing from a 400.
    requireCredentials(auth, [{ kind: 'secret', name: '*' }]),
    async (c) => {
      const { user_id: userId } = await readJsonBody(c.req.raw, { fields: FIELDS })
      if (!isUuid(userId)) throw invalidRequest('notUuid', 'user_id')
      for (const sessionId of await revokeUserSessions(auth.database(), userId)) {
        auth.forgetSession(sessionId)
      }
      return c.body(null, 204)
    },
  )
  app.all('/revoke', methodNotAllowed(methods))
  return app
}
