// Expiry as part of the lifecycle, end to end: a stack of its own whose access tokens live 3 s
// (and functions with no clock tolerance), so a real token expires during the test.
import { assert, assertEquals } from '@std/assert'
import { decodeJwt } from 'jose'
import type { LocalStack } from '../../supabase/local/stack.ts'
import { assertAuthError, assertMe } from '../_helpers/assert_auth.ts'
import { eventually } from '../_helpers/poll.ts'
import { createTestUser, hasAuthServer, startTestStack } from '../_helpers/stack.ts'

const LIFETIME_SECONDS = 3

async function withShortLivedStack(work: (stack: LocalStack) => Promise<void>): Promise<void> {
  const dedicated = await startTestStack({
    jwtExp: LIFETIME_SECONDS,
    functionsEnv: { EDGE_AUTH_CLOCK_TOLERANCE_SECONDS: '0' },
  })
  try {
    await work(dedicated.stack)
  } finally {
    await dedicated.dispose()
  }
}

function post(url: string, body: unknown, token?: string): Promise<Response> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' }
  if (token) headers.Authorization = `Bearer ${token}`
  return fetch(url, {
    method: 'POST',
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  })
}

function me(functionsUrl: string, token: string): Promise<Response> {
  return fetch(`${functionsUrl}/me`, { headers: { Authorization: `Bearer ${token}` } })
}

/** Asserts a session answer of login or refresh (200, JSON, not cacheable) and returns it. */
async function assertSession(response: Response) {
  const text = await response.text()
  assertEquals(response.status, 200, text)
  assertEquals(response.headers.get('Content-Type'), 'application/json')
  assertEquals(response.headers.get('Cache-Control'), 'no-store')
  return JSON.parse(text)
}

/**
 * Polls GET /me with `token` until it is refused, and proves that the change comes at `exp` (the
 * functions and this test read the same system clock): a 200 only for a request sent before
 * `exp`, the refusal only once `exp` has passed (jose, with no tolerance: expired once exp <= now).
 *
 * @returns the refusal
 */
async function untilExpired(functionsUrl: string, token: string): Promise<Response> {
  const expMs = decodeJwt(token).exp! * 1000
  let last = 0
  const { value } = await eventually(async () => {
    const sentAt = Date.now()
    const response = await me(functionsUrl, token)
    const answeredAt = Date.now()
    last = response.status
    if (response.status === 200) {
      assert(sentAt < expMs, `200 for a request sent ${sentAt - expMs} ms after exp`)
      await response.body?.cancel()
      return
    }
    assert(answeredAt >= expMs, `refused ${expMs - answeredAt} ms before exp`)
    return response
  }, {
    timeoutMs: Math.max(0, expMs - Date.now()) + 2_000,
    intervalMs: 100,
    what: 'GET /me refuses the access token once its exp has passed',
    describe: () => `status ${last}`,
  })
  return value
}

Deno.test({
  name:
    'Expiry: an expired access token -> 401 "token expired"; refresh -> new session that works; logout with the expired token -> 204 and the session really ends',
  ignore: !hasAuthServer,
  async fn() {
    await withShortLivedStack(async (stack) => {
      const { functionsUrl } = stack.info
      const { email, password } = await createTestUser({ stack: stack.info })

      const first = await assertSession(await post(`${functionsUrl}/login`, { email, password }))
      assertEquals(first.expires_in, LIFETIME_SECONDS)
      assertEquals(first.expires_at, decodeJwt(first.access_token).exp)
      const ids = (token: string) => {
        const { sub, session_id } = decodeJwt(token)
        return { sub, session_id }
      }
      await assertMe(
        await me(functionsUrl, first.access_token),
        first.access_token,
        ids(first.access_token),
      )

      const expired = await untilExpired(functionsUrl, first.access_token)
      await assertAuthError(expired, 'BADTOKEN', 'tokenExpired', [first.access_token])

      const second = await assertSession(
        await post(`${functionsUrl}/refresh`, { refresh_token: first.refresh_token }),
      )
      assert(second.access_token !== first.access_token)
      assertEquals(ids(second.access_token), ids(first.access_token), 'the same session')
      await assertMe(
        await me(functionsUrl, second.access_token),
        second.access_token,
        ids(second.access_token),
      )

      // Let the new token expire as well, then log out with it: the auth server refuses an
      // expired bearer, so the function ends the session in the database itself.
      await assertAuthError(
        await untilExpired(functionsUrl, second.access_token),
        'BADTOKEN',
        'tokenExpired',
        [second.access_token],
      )
      const logout = await post(
        `${functionsUrl}/logout?scope=local`,
        undefined,
        second.access_token,
      )
      assertEquals(logout.status, 204, await logout.clone().text())
      assertEquals(await logout.text(), '')
      const replay = await post(
        `${functionsUrl}/logout?scope=local`,
        undefined,
        second.access_token,
      )
      assertEquals(replay.status, 204, 'logging out twice is still 204')
      assertEquals(await replay.text(), '')
      const dead = await post(`${functionsUrl}/refresh`, { refresh_token: second.refresh_token })
      assertEquals(dead.status, 400)
      assertEquals(dead.headers.get('Content-Type'), 'application/json')
      assertEquals(await dead.json(), {
        error: 'invalid_grant',
        error_description: 'Invalid refresh token',
      })
    })
  },
})
