import type { Hono } from 'hono'
import { createFunctionApp, methodNotAllowed } from '../_shared/app_factory.ts'
import { createUpstreamClient, upstreamFailure } from '../_shared/auth_upstream.ts'
import { callerAddress } from '../_shared/client_address.ts'
import type { Config } from '../_shared/config.ts'
import { readJsonBody } from '../_shared/json_body.ts'
import { rejectQueryParameters } from '../_shared/query_guard.ts'
import { sessionResponse } from '../_shared/session_body.ts'

/** Body cap: an email and a password fit in far less; Supabase Auth itself allows 1 MiB. */
const MAX_BODY_BYTES = 8 * 1024

/** `POST /login {email, password}`: signInWithPassword through Supabase Auth. */
export function createLoginApp(config: Config): Hono {
  const app = createFunctionApp('login', { corsOrigins: config.corsOrigins, methods: ['POST'] })
  app.post('/', rejectQueryParameters(), async (c) => {
    const body = await readJsonBody(c.req.raw, {
      maxBytes: MAX_BODY_BYTES,
      fields: {
        email: { required: true, maxLength: 320 },
        password: { required: true, maxLength: 1024 },
      },
    })
    const { client, outcome } = createUpstreamClient(config, {
      clientAddress: callerAddress(c.req.raw),
    })
    const { data, error } = await client.auth.signInWithPassword({
      email: body.email!,
      password: body.password!,
    })
    // Every rejection (unknown email, wrong password, banned, unconfirmed, no password) is the
    // same byte-identical 400: telling them apart would reveal which accounts exist.
    if (error || !data.session) throw upstreamFailure(outcome, 'invalidGrant', error)
    return sessionResponse(data.session)
  })
  app.all('/', methodNotAllowed(['POST']))
  return app
}
