import { assertEquals, assertStringIncludes } from '@std/assert'
import { loadConfig } from '../../functions/_shared/core/config.ts'
import { createLoginApp } from '../../functions/login/app.ts'
import { createRefreshApp } from '../../functions/refresh/app.ts'
import { closedPort, startLocalServer } from '../_helpers/local_server.ts'

const SECRET_PASSWORD = 'correct-horse-battery-staple'
const EMAIL = 'alice@example.com'

function appFor(supabaseUrl: string, extra: Record<string, string> = {}) {
  const vars: Record<string, string> = {
    SUPABASE_URL: supabaseUrl,
    SUPABASE_ANON_KEY: 'anon-key-for-tests',
    EDGE_AUTH_UPSTREAM_TIMEOUT_MS: '500',
    ...extra,
  }
  return createLoginApp(loadConfig({ get: (name) => vars[name] }))
}

function login(
  app: ReturnType<typeof appFor>,
  body: BodyInit | null,
  headers: Record<string, string> = {},
  path = '/login',
) {
  return app.request(path, {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'application/json', ...headers },
  })
}

async function assertError(
  response: Response,
  status: number,
  error: string,
  description?: string,
) {
  assertEquals(response.status, status)
  assertEquals(response.headers.get('Content-Type'), 'application/json')
  assertEquals(response.headers.get('Cache-Control'), 'no-store')
  assertEquals(response.headers.get('X-Content-Type-Options'), 'nosniff')
  assertEquals(response.headers.get('Access-Control-Allow-Origin'), '*')
  const text = await response.text()
  assertEquals(text.includes(SECRET_PASSWORD), false, 'password echoed')
  assertEquals(text.includes(EMAIL), false, 'email echoed')
  const body = JSON.parse(text)
  assertEquals(body.error, error)
  if (description) assertEquals(body.error_description, description)
  assertEquals(Object.keys(body).sort(), ['error', 'error_description'])
  return body
}

const offline = appFor(`http://127.0.0.1:${closedPort()}`)

Deno.test('L01 POST /login with malformed JSON -> 400 invalid_request, no echo', async () => {
  for (const body of ['{"email":', `{"email":"${EMAIL}"}}`, '']) {
    await assertError(
      await login(offline, body),
      400,
      'invalid_request',
      'Request body is not valid JSON',
    )
  }
})

Deno.test('L02 POST /login with a non-JSON content type -> 415', async () => {
  for (
    const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data',
      'application/json; charset=utf-16',
    ]
  ) {
    const response = await login(offline, `email=${EMAIL}&password=${SECRET_PASSWORD}`, {
      'Content-Type': type,
    })
    await assertError(response, 415, 'unsupported_media_type')
  }
  const noType = await offline.request('/login', { method: 'POST', body: new Blob(['{}']) })
  await assertError(noType, 415, 'unsupported_media_type')
})

Deno.test('L03 POST /login with a huge body (declared or streamed) -> 413; a 1 MiB password -> 413', async () => {
  const huge = JSON.stringify({ email: EMAIL, password: 'x'.repeat(1024 * 1024) })
  await assertError(await login(offline, huge), 413, 'payload_too_large')
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < 64; i++) controller.enqueue(new Uint8Array(1024).fill(32))
      controller.close()
    },
  })
  await assertError(
    await login(offline, stream, { 'Content-Length': '10' }),
    413,
    'payload_too_large',
  )
})

Deno.test('L04 POST /login with missing, mistyped or extra fields -> 400 naming the field, never its value', async () => {
  const cases: [unknown, string][] = [
    [{}, 'email: A required field is missing'],
    [{ email: EMAIL }, 'password: A required field is missing'],
    [{ password: SECRET_PASSWORD }, 'email: A required field is missing'],
    [{ email: 123, password: [] }, 'email: A field has the wrong type'],
    [{ email: EMAIL, password: '' }, 'password: A field is too long or empty'],
    [
      { email: EMAIL, password: SECRET_PASSWORD, grant_type: 'password' },
      'The body contains an unsupported field',
    ],
    [
      { email: EMAIL, password: SECRET_PASSWORD, phone: '+15550100' },
      'The body contains an unsupported field',
    ],
    [[EMAIL, SECRET_PASSWORD], 'Request body must be a JSON object'],
  ]
  for (const [body, description] of cases) {
    await assertError(
      await login(offline, JSON.stringify(body)),
      400,
      'invalid_request',
      description,
    )
  }
  const proto = `{"email":"${EMAIL}","password":"${SECRET_PASSWORD}","__proto__":{"admin":true}}`
  await assertError(
    await login(offline, proto),
    400,
    'invalid_request',
    'The body contains an unsupported field',
  )
})

Deno.test('L10 POST /login with credentials in the query string -> 400, nothing echoed', async () => {
  const response = await login(
    offline,
    JSON.stringify({ email: EMAIL, password: SECRET_PASSWORD }),
    {},
    `/login?email=${EMAIL}&password=${SECRET_PASSWORD}`,
  )
  await assertError(response, 400, 'invalid_request')
})

Deno.test('O04/X04 GET and PUT /login -> 405 with Allow: POST', async () => {
  for (const method of ['GET', 'PUT', 'DELETE']) {
    const response = await offline.request('/login', { method })
    await assertError(response, 405, 'method_not_allowed')
    assertEquals(response.headers.get('Allow'), 'POST')
  }
})

Deno.test('L07 POST /login with the auth server unreachable -> 502 auth_upstream_unavailable', async () => {
  const response = await login(offline, JSON.stringify({ email: EMAIL, password: SECRET_PASSWORD }))
  await assertError(response, 502, 'auth_upstream_unavailable', 'Auth server unavailable')
})

Deno.test('L07 POST /login when the auth server does not answer within the budget -> 504', async () => {
  const hang = startLocalServer(() =>
    new Promise<Response>((resolve) => setTimeout(() => resolve(new Response('{}')), 2_000))
  )
  try {
    const response = await login(
      appFor(hang.url),
      JSON.stringify({ email: EMAIL, password: SECRET_PASSWORD }),
    )
    await assertError(response, 504, 'auth_upstream_timeout')
  } finally {
    await hang.close()
  }
})

Deno.test('L07 POST /login when the auth server answers 500 or an HTML page -> 502, upstream text not relayed', async () => {
  for (
    const [status, body, type] of [
      [500, '{"msg":"Database error querying schema"}', 'application/json'],
      [200, '<html>maintenance</html>', 'text/html'],
      [503, '<html>down</html>', 'text/html'],
    ] as const
  ) {
    const upstream = startLocalServer(() =>
      new Response(body, { status, headers: { 'Content-Type': type } })
    )
    try {
      const response = await login(
        appFor(upstream.url),
        JSON.stringify({ email: EMAIL, password: SECRET_PASSWORD }),
      )
      const parsed = await assertError(response, 502, 'auth_upstream_unavailable')
      assertEquals(JSON.stringify(parsed).includes('Database'), false)
    } finally {
      await upstream.close()
    }
  }
})

Deno.test('L08 POST /login when the auth server redirects (307) -> 502 and the password is not re-sent', async () => {
  const attacker = startLocalServer(() => new Response('{}'))
  const upstream = startLocalServer(() =>
    new Response(null, { status: 307, headers: { Location: `${attacker.url}/steal` } })
  )
  try {
    const response = await login(
      appFor(upstream.url),
      JSON.stringify({ email: EMAIL, password: SECRET_PASSWORD }),
    )
    await assertError(response, 502, 'auth_upstream_unavailable')
    assertEquals(upstream.requests.length, 1)
    assertEquals(attacker.requests.length, 0)
  } finally {
    await upstream.close()
    await attacker.close()
  }
})

Deno.test('L06 POST /login when the auth server rate-limits (429) -> 429 with Retry-After', async () => {
  const upstream = startLocalServer(() =>
    Response.json({
      code: 429,
      error_code: 'over_request_rate_limit',
      msg: 'Request rate limit reached',
    }, { status: 429, headers: { 'Retry-After': '17' } })
  )
  try {
    const response = await login(
      appFor(upstream.url),
      JSON.stringify({ email: EMAIL, password: SECRET_PASSWORD }),
    )
    await assertError(response, 429, 'rate_limited')
    assertEquals(response.headers.get('Retry-After'), '17')
  } finally {
    await upstream.close()
  }
})

Deno.test('L09 POST /login sends only the allow-listed fields upstream and copies no upstream header', async () => {
  const upstream = startLocalServer(async (request) => {
    const sent = await request.clone().json()
    assertEquals(sent.email, EMAIL)
    assertEquals(sent.password, SECRET_PASSWORD)
    return Response.json({
      code: 400,
      error_code: 'invalid_credentials',
      msg: 'Invalid login credentials',
    }, {
      status: 400,
      headers: { 'sb-auth-user-id': 'leak', 'set-cookie': 'a=b', server: 'gotrue/1.2.3' },
    })
  })
  try {
    const response = await login(
      appFor(upstream.url),
      JSON.stringify({ email: EMAIL, password: SECRET_PASSWORD }),
    )
    await assertError(response, 400, 'invalid_grant', 'Invalid login credentials')
    for (const header of ['sb-auth-user-id', 'set-cookie', 'server']) {
      assertEquals(response.headers.get(header), null)
    }
    const url = new URL(upstream.requests[0]!.url)
    assertEquals(url.pathname, '/auth/v1/token')
    assertStringIncludes(url.search, 'grant_type=password')
  } finally {
    await upstream.close()
  }
})

Deno.test('R01/R02/R03 POST /refresh input discipline -> 400 invalid_request or 413', async () => {
  const vars: Record<string, string> = {
    SUPABASE_URL: `http://127.0.0.1:${closedPort()}`,
    SUPABASE_ANON_KEY: 'anon',
  }
  const app = createRefreshApp(loadConfig({ get: (name) => vars[name] }))
  const post = (body: string, path = '/refresh') =>
    app.request(path, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } })
  for (
    const body of [
      '{}',
      '{"refresh_token":""}',
      '{"refresh_token":123}',
      '{"refresh_token":[]}',
      '{"refresh_token":{}}',
    ]
  ) {
    await assertError(await post(body), 400, 'invalid_request')
  }
  await assertError(
    await post(JSON.stringify({ refresh_token: 'x'.repeat(2000) })),
    400,
    'invalid_request',
    'refresh_token: A field is too long or empty',
  )
  await assertError(
    await post(JSON.stringify({ refresh_token: 'x'.repeat(100 * 1024) })),
    413,
    'payload_too_large',
  )
  await assertError(
    await post('{"refresh_token":"abc"}', '/refresh?refresh_token=abc'),
    400,
    'invalid_request',
  )
})

Deno.test('R06 POST /refresh when upstream reports a refresh conflict (409) -> 409 conflict with Retry-After, not 500', async () => {
  const upstream = startLocalServer(() =>
    Response.json({ code: 409, error_code: 'conflict', msg: 'conflict' }, { status: 409 })
  )
  const vars: Record<string, string> = { SUPABASE_URL: upstream.url, SUPABASE_ANON_KEY: 'anon' }
  try {
    const app = createRefreshApp(loadConfig({ get: (name) => vars[name] }))
    const response = await app.request('/refresh', {
      method: 'POST',
      body: '{"refresh_token":"abcdef"}',
      headers: { 'Content-Type': 'application/json' },
    })
    await assertError(response, 409, 'conflict')
    assertEquals(response.headers.get('Retry-After'), '1')
    assertEquals(upstream.requests.length, 1, 'refresh must not be retried')
  } finally {
    await upstream.close()
  }
})
