// The `me` function in process: the response shape, methods, CORS, and the session check wired
// into the route (revoked session, store down, no store configured).
import { assertEquals } from '@std/assert'
import { assertAuthError, assertMe, assertNoEcho } from '../_helpers/assert_auth.ts'
import { testConfig } from '../_helpers/jwks_server.ts'
import { claims, generateKeyPair, jwksOf, sign } from '../_helpers/keys.ts'
import { meHarness } from '../_helpers/me_harness.ts'
import { createMeApp } from '../../functions/me/app.ts'
import { quietly } from '../_helpers/quietly.ts'

const key = await generateKeyPair('ES256')

Deno.test('GET /me -> 200 with exactly the identity and the session', async () => {
  const asked: [string, string][] = []
  const h = meHarness({
    keys: [key],
    sessionStore: (session, user) => {
      asked.push([session, user])
      return Promise.resolve('live' as const)
    },
  })
  const c = claims({ email: 'bob@example.com', aal: 'aal2' }, h.clock.now())
  const token = await sign(key, c)
  const body = await assertMe(await h.get(`Bearer ${token}`), token, c as never)
  assertEquals(body, {
    user: {
      id: c.sub,
      email: 'bob@example.com',
      role: 'authenticated',
      aal: 'aal2',
      is_anonymous: false,
      app_metadata: c.app_metadata,
      user_metadata: c.user_metadata,
    },
    session: { id: c.session_id, issued_at: c.iat, expires_at: c.exp },
  } as never)
  assertEquals(asked, [[c.session_id, c.sub]] as never)
})

Deno.test('POST, PUT, DELETE, PATCH /me -> 405 with Allow: GET', async () => {
  const h = meHarness({ keys: [key] })
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
    const response = await h.get(undefined, { method })
    assertEquals(response.status, 405)
    assertEquals(response.headers.get('Allow'), 'GET')
    assertEquals(await response.json(), {
      error: 'method_not_allowed',
      error_description: 'Method not allowed',
    })
  }
})

Deno.test('OPTIONS /me preflight -> 204 before authentication; 401s carry CORS headers', async () => {
  const h = meHarness({ keys: [key], vars: { EDGE_AUTH_CORS_ORIGINS: 'https://app.example.com' } })
  const origin = { Origin: 'https://app.example.com' }
  const preflight = await h.get(undefined, {
    method: 'OPTIONS',
    headers: {
      ...origin,
      'Access-Control-Request-Method': 'GET',
      'Access-Control-Request-Headers': 'authorization',
    },
  })
  assertEquals(preflight.status, 204)
  assertEquals(preflight.headers.get('Access-Control-Allow-Origin'), 'https://app.example.com')
  const denied = await h.get(undefined, { headers: origin })
  assertEquals(denied.headers.get('Access-Control-Allow-Origin'), 'https://app.example.com')
  assertEquals(denied.headers.get('Access-Control-Expose-Headers'), 'WWW-Authenticate, Retry-After')
  await assertAuthError(denied, 'NOCRED', 'missingCredentials')
})

Deno.test('S01 a session the store no longer has -> 401 invalid_token "session revoked"', async () => {
  const h = meHarness({ keys: [key], sessionStore: () => Promise.resolve('gone' as const) })
  const c = claims({}, h.clock.now())
  const token = await sign(key, c)
  await assertAuthError(await h.get(`Bearer ${token}`), 'BADTOKEN', 'sessionRevoked', [
    token,
    String(c.sub),
    String(c.session_id),
  ])
})

Deno.test('session store down -> 503 temporarily_unavailable + Retry-After, no WWW-Authenticate', async () => {
  const errors: unknown[] = []
  const original = console.error
  console.error = (...args: unknown[]) => errors.push(args.join(' '))
  try {
    const h = meHarness({ keys: [key], sessionStore: () => Promise.reject(new Error('refused')) })
    const c = claims({}, h.clock.now())
    const token = await sign(key, c)
    const response = await h.get(`Bearer ${token}`)
    await assertAuthError(response, 'SESSION_DOWN', 'sessionStoreUnavailable', [
      token,
      String(c.sub),
    ])
  } finally {
    console.error = original
  }
  assertEquals(errors.length, 1, 'the 503 is logged once, without request data')
})

Deno.test('bad tokens never reach the session store', async () => {
  let asked = 0
  const h = meHarness({
    keys: [key],
    sessionStore: () => Promise.resolve(++asked > 0 ? 'live' as const : 'gone' as const),
  })
  const other = await generateKeyPair('ES256', key.kid)
  const forged = await sign(other, claims({}, h.clock.now()))
  await assertAuthError(await h.get(`Bearer ${forged}`), 'BADTOKEN', 'badSignature', [forged])
  const anonymous = await sign(key, claims({ is_anonymous: true }, h.clock.now()))
  await assertAuthError(await h.get(`Bearer ${anonymous}`), 'SCOPE', 'anonymousNotAllowed', [
    anonymous,
  ])
  assertEquals(asked, 0)
})

Deno.test('no SUPABASE_DB_URL and no injected store -> 500 server_misconfigured at request time', async () => {
  const config = testConfig({ SUPABASE_JWKS: JSON.stringify(jwksOf(key)) })
  const app = createMeApp(config)
  const token = await sign(key, claims())
  await quietly(async () => {
    const response = await app.request('/me', { headers: { Authorization: `Bearer ${token}` } })
    await assertNoEcho(response, [token])
    assertEquals(response.status, 500)
    assertEquals(await response.json(), {
      error: 'server_misconfigured',
      error_description: 'Server misconfigured',
    })
  })
})
