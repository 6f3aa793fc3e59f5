import type { Hono } from 'hono'
import { createFunctionApp, methodNotAllowed } from '../_shared/app_factory.ts'
import { createUpstreamClient, upstreamFailure } from '../_shared/auth_upstream.ts'
import { callerAddress } from '../_shared/client_address.ts'
import type { Config } from '../_shared/config.ts'
import { readJsonBody } from '../_shared/json_body.ts'
import { rejectQueryParameters } from '../_shared/query_guard.ts'
import { sessionResponse } from '../_shared/session_body.ts'

const MAX_BODY_BYTES = 4 * 1024

/** `POST /refresh {refresh_token}`: exchanges a refresh token for a new session. */
export function createRefreshApp(config: Config): Hono {
  const app = createFunctionApp('refresh', { corsOrigins: config.corsOrigins, methods: ['POST'] })
  app.post('/', rejectQueryParameters(), async (c) => {
    const body = await readJsonBody(c.req.raw, {
      maxBytes: MAX_BODY_BYTES,
      fields: { refresh_token: { required: true, maxLength: 1024 } },
    })
    const { client, outcome } = createUpstreamClient(config, {
      clientAddress: callerAddress(c.req.raw, config.clientAddressHeader),
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
