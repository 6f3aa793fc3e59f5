// Logout rules that need no auth server: scope discipline, methods, and what the caller sees when
// Supabase Auth is down or slow, or refuses the bearer while the database is out of reach.
import { assertEquals } from '@std/assert'
import { createDatabaseClient, type Sql } from '../../functions/_shared/db/database.ts'
import { createLogoutApp } from '../../functions/logout/app.ts'
import { assertAuthError, assertNoEcho } from '../_helpers/assert_auth.ts'
import { testConfig } from '../_helpers/jwks_server.ts'
import { claims, generateKeyPair, ISSUER, jwksOf, sign } from '../_helpers/keys.ts'
import { closedPort, startLocalServer } from '../_helpers/local_server.ts'
import { quietly } from '../_helpers/quietly.ts'

const key = await generateKeyPair('ES256')

function logoutApp(supabaseUrl: string, database?: Sql) {
  const config = testConfig({
    SUPABASE_URL: supabaseUrl,
    SUPABASE_JWT_ISSUER: ISSUER,
    SUPABASE_ANON_KEY: 'anon',
    SUPABASE_JWKS: JSON.stringify(jwksOf(key)),
    EDGE_AUTH_UPSTREAM_TIMEOUT_MS: '300',
  })
  // No SUPABASE_DB_URL: the database is the one given, else unused (tokens are not expired).
  return createLogoutApp(config, database ? { database: () => database } : {})
}

/** A database client whose server cannot be reached (connections refused). */
function unreachableDatabase(): Sql {
  return createDatabaseClient(`postgres://u:p@127.0.0.1:${closedPort()}/db?connect_timeout=2`, {
    max: 1,
  })
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

Deno.test('O02 POST /logout whose bearer the auth server refuses (401, 403 or 404, any error code) while the database is unreachable -> 503 temporarily_unavailable with Retry-After, never 204', async () => {
  const refusals = [
    [403, { code: 403, error_code: 'session_not_found', msg: 'Session not found' }],
    [403, { code: 403, error_code: 'bad_jwt', msg: 'invalid JWT: token is expired' }],
    [403, { code: 'bad_jwt', message: 'invalid JWT: token is not valid yet' }],
    [403, { code: 403, error_code: 'user_banned', msg: 'User is banned' }],
    [403, { code: 403, error_code: 'user_not_found', msg: 'User not found' }],
    [401, { code: 401, error_code: 'no_authorization', msg: 'No authorization' }],
    [401, { message: 'Invalid API key' }],
    [404, { code: 404, error_code: 'not_found', msg: 'Not found' }],
    [404, null],
  ] as const
  const database = unreachableDatabase()
  try {
    for (const [status, body] of refusals) {
      for (const scope of ['global', 'local', 'others']) {
        const seen: (string | null)[] = []
        const upstream = startLocalServer((request) => {
          seen.push(
            new URL(request.url).searchParams.get('scope'),
            request.headers.get('Authorization'),
          )
          return body === null
            ? new Response('not json', { status })
            : Response.json(body, { status })
        })
        try {
          const token = await sign(key, claims())
          const response = await quietly(async () =>
            await logout(logoutApp(upstream.url, database), token, `?scope=${scope}`)
          )
          await assertAuthError(response, 'SESSION_DOWN', 'sessionStoreUnavailable', [token])
          assertEquals(response.headers.get('Retry-After'), '5')
          assertEquals(seen, [scope, `Bearer ${token}`], `${status} ${JSON.stringify(body)}`)
        } finally {
          await upstream.close()
        }
      }
    }
  } finally {
    await database.end()
  }
})

Deno.test('O06 POST /logout the auth server answers 204 -> 204, the database never asked (it is unreachable)', async () => {
  const upstream = startLocalServer(() => new Response(null, { status: 204 }))
  const database = unreachableDatabase()
  try {
    const token = await sign(key, claims())
    const response = await logout(logoutApp(upstream.url, database), token, '?scope=local')
    assertEquals(response.status, 204)
    assertEquals(await response.text(), '')
    assertEquals(upstream.requests.length, 1)
  } finally {
    await upstream.close()
    await database.end()
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
