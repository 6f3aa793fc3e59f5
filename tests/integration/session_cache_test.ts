// The functions' session cache on the real stack: only a session that no longer exists is dead for
// good. A ban that ends lets the user back in on the same instance, and a signed token pairing one
// user with another user's live session id is refused without changing the answer for the owner.
import { assert, assertEquals } from '@std/assert'
import { decodeJwt } from 'jose'
import { assertAuthError, assertMe } from '../_helpers/assert_auth.ts'
import {
  banUser,
  callFunction,
  createTestUser,
  hasAuthServer,
  loginUser,
  mintToken,
  requestInit,
  testStack,
} from '../_helpers/stack.ts'

const ignore = !hasAuthServer

async function meStatus(token: string): Promise<number> {
  const response = await callFunction('me', requestInit(undefined, token))
  await response.body?.cancel()
  return response.status
}

/** Polls GET /me until it answers `want`; every answer meanwhile must be in `allowed`. */
async function until(token: string, want: number, allowed: number[], limitMs: number) {
  const started = performance.now()
  for (;;) {
    const status = await meStatus(token)
    if (status === want) return
    assert(allowed.includes(status), `while waiting for ${want}: ${status}`)
    assert(performance.now() - started < limitMs, `no ${want} within ${limitMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

Deno.test({
  name:
    'GET /me for a user banned for 2 s -> 401 session revoked, then 200 again once the ban ends, on the same instance',
  ignore,
  async fn() {
    const stack = testStack()
    const user = await createTestUser()
    const { access_token: token } = await loginUser(user)
    const pid = stack.pids.functions
    assertEquals(await meStatus(token), 200)
    await banUser(user.id, '2s')
    await until(token, 401, [200], 3_000)
    await assertAuthError(
      await callFunction('me', requestInit(undefined, token)),
      'BADTOKEN',
      'sessionRevoked',
      [token],
    )
    // The ban ends after 2 s; the refusal is re-checked after the cache TTL.
    await until(token, 200, [401], 6_000)
    assertEquals(testStack().pids.functions, pid, 'the same functions instance')
  },
})

Deno.test({
  name:
    "a signed token pairing user A with user B's live session id -> 401, and B's own token keeps getting 200 on that instance",
  ignore,
  async fn() {
    const alice = await createTestUser()
    const bob = await createTestUser()
    const bobSession = await loginUser(bob)
    const bobClaims = decodeJwt(bobSession.access_token)
    for (let i = 0; i < 3; i++) {
      const forged = await mintToken({ sub: alice.id, session_id: bobClaims.session_id })
      await assertAuthError(
        await callFunction('me', requestInit(undefined, forged)),
        'BADTOKEN',
        'sessionRevoked',
        [forged],
      )
      await assertMe(
        await callFunction('me', requestInit(undefined, bobSession.access_token)),
        bobSession.access_token,
        { sub: bobClaims.sub, session_id: bobClaims.session_id },
      )
    }
  },
})
