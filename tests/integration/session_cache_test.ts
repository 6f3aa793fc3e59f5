// The functions' session cache on the real stack: only a session that no longer exists is dead for
// good. A ban that ends lets the user back in on the same instance, and a signed token pairing one
// user with another user's live session id is refused without changing the answer for the owner.
import { assert, assertEquals } from '@std/assert'
import { decodeJwt } from 'jose'
import { assertAuthError, assertMe } from '../_helpers/assert_auth.ts'
import { eventually } from '../_helpers/poll.ts'
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
/** The functions' session cache TTL (their default). */
const SESSION_TTL_MS = 1000
const BAN_MS = 2000

const me = (token: string) => callFunction('me', requestInit(undefined, token))

/**
 * Polls GET /me until it answers `want`; every answer meanwhile must be `meanwhile`, and with
 * `meanwhileWithinMs` only for a request sent that soon after `since` (a cached answer's TTL).
 *
 * @returns the first answer with `want`
 */
async function until(
  token: string,
  want: number,
  meanwhile: number,
  options: { timeoutMs: number; since?: number; meanwhileWithinMs?: number },
) {
  const since = options.since ?? performance.now()
  let last = 0
  const { value } = await eventually(async () => {
    const sentAt = performance.now()
    const response = await me(token)
    last = response.status
    if (response.status === want) return response
    assertEquals(response.status, meanwhile, `while waiting for ${want}`)
    await response.body?.cancel()
    const late = sentAt - since
    assert(
      late < (options.meanwhileWithinMs ?? Infinity),
      `${meanwhile} for a request sent ${Math.round(late)} ms after the change`,
    )
  }, {
    timeoutMs: options.timeoutMs,
    since,
    intervalMs: 100,
    what: `GET /me answers ${want}`,
    describe: () => `${last}`,
  })
  return value
}

Deno.test({
  name:
    'GET /me for a user banned for 2 s -> 401 session revoked, then 200 again once the ban ends, on the same instance',
  ignore,
  async fn() {
    const stack = testStack()
    const user = await createTestUser()
    const { access_token: token } = await loginUser(user)
    const claims = decodeJwt(token)
    const ids = { sub: claims.sub, session_id: claims.session_id }
    const pid = stack.pids.functions
    await assertMe(await me(token), token, ids)
    // The ban runs from the auth server's clock when it handles the request: not before this.
    const banSentAt = Date.now()
    await banUser(user.id, `${BAN_MS / 1000}s`)
    // Refused once me's cached "live" answer (asked before the ban) lapses, never later.
    const refused = await until(token, 401, 200, {
      timeoutMs: SESSION_TTL_MS + 1_000,
      since: performance.now(),
      meanwhileWithinMs: SESSION_TTL_MS,
    })
    await assertAuthError(refused, 'BADTOKEN', 'sessionRevoked', [token])
    // The ban ends after 2 s; the cached refusal is asked again after the TTL.
    const back = await until(token, 200, 401, { timeoutMs: BAN_MS + SESSION_TTL_MS + 3_000 })
    const backAt = Date.now()
    await assertMe(back, token, ids)
    assert(
      backAt - banSentAt >= BAN_MS,
      `200 again only once the ban has ended: ${backAt - banSentAt} ms after the ban`,
    )
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
