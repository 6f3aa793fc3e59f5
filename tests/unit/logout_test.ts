// Logout rules that need no auth server: scope discipline, methods, and what
// the caller sees when Supabase Auth is down, slow, or no longer knows the session.
import { assertEquals } from '@std/assert'
import { createLogoutApp } from '../../functions/logout/app.ts'
import { assertAuthError, assertNoEcho } from '../_helpers/assert_auth.ts'
import { testConfig } from '../_helpers/jwks_server.ts'
import { claims, generateKeyPair, ISSUER, jwksOf, sign } from '../_helpers/keys.ts'
import { closedPort, startLocalServer } from '../_helpers/local_server.ts'

const key = await generateKeyPair('ES256')

function logoutApp(supabaseUrl: string) {
  const config = testConfig({
    SUPABASE_URL: supabaseUrl,
    SUPABASE_JWT_ISSUER: ISSUER,
    SUPABASE_ANON_KEY: 'anon',
    SUPABASE_JWKS: JSON.stringify(jwksOf(key)),
    EDGE_AUTH_UPSTREAM_TIMEOUT_MS: '300',
  })
  // No SUPABASE_DB_URL: these cases never reach the database (tokens are not expired).
  return createLogoutApp(config)
}

function logout(
  app: ReturnType<typeof logoutApp>,
  token: string | undefined,
  query = '',
  method = 'POST',
) {
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {}
  return app.request(`/logout${query}`, { method, headers })
}

Deno.test('O01 POST /logout without a bearer -> 401 unauthorized, bare challenge', async () => {
  await assertAuthError(
    await logout(logoutApp(`http://127.0.0.1:${closedPort()}`), undefined),
    'NOCRED',
    'missingCredentials',
  )
})

Deno.test('O03 POST /logout with scope=evil, GLOBAL, empty, repeated or another parameter -> 400 before any upstream call', async () => {
  const upstream = startLocalServer(() => new Response(null, { status: 204 }))
  try {
    const app = logoutApp(upstream.url)
    const token = await sign(key, claims())
    for (
      const query of [
        '?scope=evil',
        '?scope=GLOBAL',
        '?scope=',
        '?scope=local&scope=global',
        '?access=1',
      ]
    ) {
      const response = await logout(app, token, query)
      assertEquals(response.status, 400, query)
      assertEquals((await response.json()).error, 'invalid_request')
    }
    assertEquals(upstream.requests.length, 0)
  } finally {
    await upstream.close()
  }
})

Deno.test('O04 GET /logout -> 405 with Allow: POST', async () => {
  const response = await logout(logoutApp(`http://127.0.0.1:${closedPort()}`), undefined, '', 'GET')
  assertEquals(response.status, 405)
  assertEquals(response.headers.get('Allow'), 'POST')
  await response.body?.cancel()
})

Deno.test('O02 POST /logout for a session the auth server no longer knows (403 session_not_found) -> 204', async () => {
  const seen: (string | null)[] = []
  const upstream = startLocalServer((request) => {
    seen.push(new URL(request.url).searchParams.get('scope'), request.headers.get('Authorization'))
    return Response.json({ code: 403, error_code: 'session_not_found', msg: 'Session not found' }, {
      status: 403,
    })
  })
  try {
    const token = await sign(key, claims())
    const response = await logout(logoutApp(upstream.url), token, '?scope=others')
    assertEquals(response.status, 204)
    assertEquals(seen, ['others', `Bearer ${token}`])
  } finally {
    await upstream.close()
  }
})

Deno.test('O05 POST /logout while the auth server is unreachable -> 502; silent beyond the budget -> 504; never echoes the token', async () => {
  const token = await sign(key, claims())
  const down = await logout(logoutApp(`http://127.0.0.1:${closedPort()}`), token)
  await assertNoEcho(down, [token])
  assertEquals(down.status, 502)
  assertEquals(await down.json(), {
    error: 'auth_upstream_unavailable',
    error_description: 'Auth server unavailable',
  })
  const hang = startLocalServer(() =>
    new Promise<Response>((resolve) =>
      setTimeout(() => resolve(new Response(null, { status: 204 })), 1_000)
    )
  )
  try {
    const slow = await logout(logoutApp(hang.url), token)
    assertEquals(slow.status, 504)
    assertEquals((await slow.json()).error, 'auth_upstream_timeout')
  } finally {
    await hang.close()
  }
})
