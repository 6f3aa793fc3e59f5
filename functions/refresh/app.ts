import type { Hono } from 'hono'
import type { AppDeps, Config } from '@edge-auth/edge-auth'
import { createFunctionApp, methodNotAllowed } from '@edge-auth/edge-auth/hono'
import { type BodyFields, callerAddress, readJsonBody } from '@edge-auth/edge-auth/http'
import {
  createUpstreamClient,
  sessionResponse,
  upstreamFailure,
} from '@edge-auth/edge-auth/supabase-auth'

/** The body, in characters; its size cap follows from this limit. */
const FIELDS: BodyFields<'refresh_token'> = {
  refresh_token: { required: true, maxLength: 1024 },
}

/**
 * `POST /refresh {refresh_token}`: exchanges a refresh token for a new session.
 *
 * @param config the loaded configuration
 * @param deps injected fetch
 * @returns the Hono app, routed under `/refresh`
 */
export function createRefreshApp(config: Config, deps: AppDeps = {}): Hono {
  const app = createFunctionApp('refresh', { corsOrigins: config.corsOrigins, methods: ['POST'] })
  app.post('/', async (c) => {
    const body = await readJsonBody(c.req.raw, { fields: FIELDS })
    const { client, outcome } = createUpstreamClient(config, {
      clientAddress: callerAddress(c.req.raw, config.clientAddressHeader),
      fetch: deps.fetch,
    })
    // One attempt only: a retry after upstream already rotated the token would trip its
    // refresh-token reuse detection and revoke the whole session.
    const { data, error } = await client.auth.refreshSession({ refresh_token: body.refresh_token! })
    if (error || !data.session) throw upstreamFailure(outcome, 'invalidRefreshToken', error)
    return sessionResponse(data.session)
  })
  app.all('/', methodNotAllowed(['POST']))
  return app
}
