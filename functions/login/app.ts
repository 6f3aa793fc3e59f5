import type { Hono } from 'hono'
import { type AppDeps, type Config, systemClock } from '@edge-auth/edge-auth'
import { createFunctionApp, methodNotAllowed } from '@edge-auth/edge-auth/hono'
import { type BodyFields, callerAddress, readJsonBody } from '@edge-auth/edge-auth/http'
import {
  createUpstreamClient,
  sessionResponse,
  upstreamFailure,
} from '@edge-auth/edge-auth/supabase-auth'

/** The body, in characters; its size cap follows from these limits. */
const FIELDS: BodyFields<'email' | 'password'> = {
  email: { required: true, maxLength: 320 },
  password: { required: true, maxLength: 1024 },
}

/**
 * Least time a rejected login takes, counted from the call to the auth server. The auth server
 * refuses an unknown email (or a banned user, or one without a password) at once, but checks a
 * wrong password with bcrypt first: measured on the local stack, 12 ms against 72 ms (medians),
 * enough to tell which emails have accounts. Padding every rejection to a floor well above the
 * bcrypt time makes both take the same time; only callers who fail pay for it.
 */
export const MIN_FAILURE_MS = 400

/**
 * `POST /login {email, password}`: signInWithPassword through Supabase Auth.
 *
 * @param config the loaded configuration
 * @param deps injected clock (it also times the failure floor) or fetch
 * @returns the Hono app, routed under `/login`
 */
export function createLoginApp(config: Config, deps: AppDeps = {}): Hono {
  const clock = deps.clock ?? systemClock
  const app = createFunctionApp('login', { corsOrigins: config.corsOrigins, methods: ['POST'] })
  app.post('/', async (c) => {
    const body = await readJsonBody(c.req.raw, { fields: FIELDS })
    const { client, outcome } = createUpstreamClient(config, {
      clientAddress: callerAddress(c.req.raw, config.clientAddressHeader),
      fetch: deps.fetch,
    })
    const started = clock.now()
    const { data, error } = await client.auth.signInWithPassword({
      email: body.email!,
      password: body.password!,
    })
    if (error || !data.session) {
      // Every rejection (unknown email, wrong password, banned, unconfirmed, no password) is the
      // same byte-identical 400 after the same time: telling them apart would reveal which
      // accounts exist. Transport failures and rate limits say nothing about an account.
      const failure = upstreamFailure(outcome, 'invalidGrant', error)
      if (failure.status === 400) await clock.sleep(MIN_FAILURE_MS - (clock.now() - started))
      throw failure
    }
    return sessionResponse(data.session)
  })
  app.all('/', methodNotAllowed(['POST']))
  return app
}
