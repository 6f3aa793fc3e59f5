// What the pinned Supabase Auth server (v2.196.0) does differently from the v2.189.0 it replaced,
// where edge-auth depends on it: an admin-role token is checked against its session (v2.190), and
// a banned user's access token is refused at `/logout` and `/user` (v2.195). The logout function
// ends such a session through the database instead (tests/integration/logout_refused_bearer_test.ts);
// server callers reach the admin API with the secret key, whose role JWT has no session to check.
import { assertEquals } from '@std/assert'
import { decodeJwt } from 'jose'
import {
  authAdmin,
  banUser,
  createTestUser,
  hasAuthServer,
  loginUser,
  mintToken,
  testStack,
} from '../_helpers/stack.ts'

const ignore = !hasAuthServer

async function asBearer(path: string, token: string, method = 'GET'): Promise<Response> {
  const stack = testStack()
  return await fetch(`${stack.url}/auth/v1/${path}`, {
    method,
    headers: { apikey: stack.publishableKey, Authorization: `Bearer ${token}` },
  })
}

async function assertAuthServerError(response: Response, status: number, code: string) {
  const body = await response.json()
  assertEquals([response.status, body.error_code], [status, code], JSON.stringify(body))
}

Deno.test({
  name:
    'auth server: the version the stack runs is the pinned v2.196.0 (a developer binary of another version is named in the start log)',
  ignore,
  async fn() {
    const settings = await fetch(`${testStack().url}/auth/v1/health`, {
      headers: { apikey: testStack().publishableKey },
    })
    const body = await settings.json()
    assertEquals(settings.status, 200)
    assertEquals(body.version, 'v2.196.0')
  },
})

Deno.test({
  name:
    'auth server: an admin-role token (service_role, supabase_admin) whose session_id names no live session -> 403 session_not_found on the admin API; with a live session or none, and the secret key in apikey -> 200',
  ignore,
  async fn() {
    const user = await createTestUser()
    const { access_token } = await loginUser(user)
    const { sub, session_id } = decodeJwt(access_token)
    for (const role of ['service_role', 'supabase_admin']) {
      const ended = await mintToken({ role, sub, session_id: crypto.randomUUID() })
      await assertAuthServerError(
        await asBearer('admin/users?per_page=1', ended),
        403,
        'session_not_found',
      )
      for (
        const token of [
          await mintToken({ role, sub, session_id }),
          await mintToken({ role, sub: undefined, session_id: undefined }),
        ]
      ) {
        const response = await asBearer('admin/users?per_page=1', token)
        assertEquals(response.status, 200, role)
        await response.body?.cancel()
      }
    }
    const withKey = await authAdmin('users?per_page=1', { method: 'GET' })
    assertEquals(withKey.status, 200)
    await withKey.body?.cancel()
  },
})

Deno.test({
  name:
    "auth server: a banned user's unexpired access token -> 403 user_banned at /logout and /user, and the session is left as it was",
  ignore,
  async fn() {
    const user = await createTestUser()
    const { access_token } = await loginUser(user)
    await banUser(user.id, '1h')
    await assertAuthServerError(
      await asBearer('logout?scope=global', access_token, 'POST'),
      403,
      'user_banned',
    )
    await assertAuthServerError(await asBearer('user', access_token), 403, 'user_banned')
    // The refusal ended nothing: lifting the ban gives the same session back.
    await banUser(user.id, 'none')
    const again = await asBearer('user', access_token)
    assertEquals(again.status, 200)
    await again.body?.cancel()
  },
})
