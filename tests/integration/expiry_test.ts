// Expiry as part of the lifecycle, end to end: a stack of its own whose access tokens live 3 s
// (and functions with no clock tolerance), so a real token expires during the test.
import { assert, assertEquals } from '@std/assert'
import type { LocalStack } from '../../supabase/local/stack.ts'
import { assertAuthError } from '../_helpers/assert_auth.ts'
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

Deno.test({
  name:
    'Expiry: an expired access token -> 401 "token expired"; refresh -> new session that works; logout with the expired token -> 204 and the session really ends',
  ignore: !hasAuthServer,
  async fn() {
    await withShortLivedStack(async (stack) => {
      const { functionsUrl } = stack.info
      const { email, password } = await createTestUser({ stack: stack.info })

      const login = await post(`${functionsUrl}/login`, { email, password })
      assertEquals(login.status, 200)
      const first = await login.json()
      assertEquals(first.expires_in, LIFETIME_SECONDS)
      const me = await fetch(`${functionsUrl}/me`, {
        headers: { Authorization: `Bearer ${first.access_token}` },
      })
      assertEquals(me.status, 200)
      await me.body?.cancel()

      // jose: expired once exp <= now (tolerance 0); wait past exp by a margin.
      const wait = first.expires_at * 1000 - Date.now() + 1_200
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, wait)))
      const expired = await fetch(`${functionsUrl}/me`, {
        headers: { Authorization: `Bearer ${first.access_token}` },
      })
      await assertAuthError(expired, 'BADTOKEN', 'tokenExpired', [first.access_token])

      const refreshed = await post(`${functionsUrl}/refresh`, {
        refresh_token: first.refresh_token,
      })
      assertEquals(refreshed.status, 200)
      const second = await refreshed.json()
      assert(second.access_token !== first.access_token)
      const again = await fetch(`${functionsUrl}/me`, {
        headers: { Authorization: `Bearer ${second.access_token}` },
      })
      assertEquals(again.status, 200)
      await again.body?.cancel()

      // Let the new token expire as well, then log out with it: the auth server refuses an
      // expired bearer, so the function ends the session in the database itself.
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, second.expires_at * 1000 - Date.now() + 1_200))
      )
      const logout = await post(
        `${functionsUrl}/logout?scope=local`,
        undefined,
        second.access_token,
      )
      assertEquals(logout.status, 204)
      const replay = await post(
        `${functionsUrl}/logout?scope=local`,
        undefined,
        second.access_token,
      )
      assertEquals(replay.status, 204, 'logging out twice is still 204')
      const dead = await post(`${functionsUrl}/refresh`, { refresh_token: second.refresh_token })
      assertEquals(dead.status, 400)
      assertEquals(await dead.json(), {
        error: 'invalid_grant',
        error_description: 'Invalid refresh token',
      })
    })
  },
})
