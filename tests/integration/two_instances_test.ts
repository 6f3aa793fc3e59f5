// Two functions hosts on one stack, as two instances of a deployed project: what revokes a
// session through one instance (a logout, POST /sessions/revoke), or outside both (a ban, a
// deleted user), is refused by the other within the staleness bound, through the revocation feed.
import { assert, assertEquals } from '@std/assert'
import { decodeJwt } from 'jose'
import type { FunctionsHost } from '../../supabase/local/functions_process.ts'
import { assertAuthError, assertMe } from '../_helpers/assert_auth.ts'
import { stackFunctionsHost } from '../_helpers/functions_host.ts'
import { eventually } from '../_helpers/poll.ts'
import {
  authAdmin,
  banUser,
  callFunction,
  createTestUser,
  hasAuthServer,
  loginUser,
  requestInit,
  testStack,
} from '../_helpers/stack.ts'

/** The functions' default session cache TTL: the staleness bound. */
const TTL = 1000

const skip = !hasAuthServer ||
  typeof (testStack() as Partial<ReturnType<typeof testStack>>).secretKey !== 'string'

/** Starts a second functions host with the stack's own functions environment. */
async function secondInstance(): Promise<FunctionsHost> {
  const jwks = await (await fetch(testStack().jwksUrl)).json()
  const host = await stackFunctionsHost({ jwks })
  await host.start()
  return host
}

/** GET /me on the second instance, straight to its host. */
function meOn(host: FunctionsHost, token: string): Promise<Response> {
  return fetch(`${host.url}/functions/v1/me`, requestInit(undefined, token))
}

/** A signed-in user with a live answer cached on both instances. */
async function signedIn(host: FunctionsHost) {
  const user = await createTestUser()
  const tokens = await loginUser(user)
  const claims = decodeJwt(tokens.access_token)
  const ids = { sub: claims.sub, session_id: claims.session_id }
  const token = tokens.access_token
  await assertMe(await callFunction('me', requestInit(undefined, token)), token, ids)
  await assertMe(await meOn(host, token), token, ids)
  return { user, token }
}

/** The second instance answers 401 `session revoked`, and 200 only for requests sent < TTL. */
async function refusedByOther(host: FunctionsHost, token: string, since: number): Promise<void> {
  let last = 0
  await eventually(async () => {
    const sentAt = performance.now()
    const response = await meOn(host, token)
    last = response.status
    if (response.status === 401) {
      await assertAuthError(response, 'BADTOKEN', 'sessionRevoked', [token])
      return true
    }
    assertEquals(response.status, 200)
    await response.body?.cancel()
    assert(sentAt - since < TTL, `200 ${Math.round(sentAt - since)} ms after the revocation`)
  }, {
    since,
    timeoutMs: TTL + 1_000,
    intervalMs: 100,
    what: 'the other instance refuses the revoked session',
    describe: () => `${last}`,
  })
}

Deno.test({
  name:
    'two instances: a logout, POST /sessions/revoke, a ban (until it ends) and a deleted user are refused by the other instance within the staleness bound',
  ignore: skip,
  async fn(t) {
    const host = await secondInstance()
    try {
      await t.step('a logout through the first instance', async () => {
        const { token } = await signedIn(host)
        const logout = await callFunction('logout', requestInit(undefined, token, 'POST'))
        assertEquals(logout.status, 204)
        await refusedByOther(host, token, performance.now())
      })
      await t.step('POST /sessions/revoke through the first instance', async () => {
        const { user, token } = await signedIn(host)
        const response = await callFunction('sessions/revoke', {
          method: 'POST',
          headers: { apikey: testStack().secretKey, 'Content-Type': 'application/json' },
          body: JSON.stringify({ user_id: user.id }),
        })
        assertEquals(response.status, 204)
        await refusedByOther(host, token, performance.now())
      })
      await t.step('a ban, and back in once it ends', async () => {
        const { user, token } = await signedIn(host)
        await banUser(user.id, '2s')
        const since = performance.now()
        await refusedByOther(host, token, since)
        await eventually(async () => {
          const response = await meOn(host, token)
          await response.body?.cancel()
          return response.status === 200 || undefined
        }, { since, timeoutMs: 2_000 + TTL + 2_000, intervalMs: 100, what: 'back in' })
      })
      await t.step('a deleted user', async () => {
        const { user, token } = await signedIn(host)
        const response = await authAdmin(`users/${user.id}`, { method: 'DELETE' })
        assertEquals(response.status, 200, await response.text())
        await refusedByOther(host, token, performance.now())
      })
    } finally {
      await host.stop()
    }
  },
})
