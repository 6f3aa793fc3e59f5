// The health function through the stack's gateway: what it reports when every dependency answers,
// when PostgreSQL is stopped, and once it is back (no restart of the function).
import { assertEquals } from '@std/assert'
import { hasAuthServer, stackControl, testStack } from '../_helpers/stack.ts'

async function health(): Promise<
  { status: number; body: Record<string, string>; headers: Headers }
> {
  const response = await fetch(`${testStack().functionsUrl}/health`)
  return { status: response.status, body: await response.json(), headers: response.headers }
}

function assertCommonHeaders(headers: Headers): void {
  assertEquals(headers.get('Content-Type'), 'application/json')
  assertEquals(headers.get('Cache-Control'), 'no-store')
  assertEquals(headers.get('X-Content-Type-Options'), 'nosniff')
  assertEquals(headers.get('Access-Control-Allow-Origin'), '*')
}

Deno.test({
  name: 'GET /health with the JWKS and PostgreSQL up -> 200 {"status":"ok"}',
  ignore: !hasAuthServer,
  async fn() {
    const { status, body, headers } = await health()
    assertEquals([status, body], [200, { status: 'ok' }])
    assertCommonHeaders(headers)
    assertEquals(headers.get('Retry-After'), null)
  },
})

Deno.test({
  name:
    'GET /health without the auth server (no signing keys) -> 503 degraded, jwks down, nothing more',
  ignore: hasAuthServer,
  async fn() {
    const { status, body, headers } = await health()
    assertEquals([status, body], [503, { status: 'degraded', jwks: 'down', database: 'ok' }])
    assertCommonHeaders(headers)
    assertEquals(headers.get('Retry-After'), '5')
  },
})

Deno.test('GET /health with PostgreSQL stopped -> 503 database down; after it restarts -> database ok again', async () => {
  await stackControl('postgres/stop')
  try {
    const { status, body, headers } = await health()
    assertEquals(status, 503)
    assertEquals(body.status, 'degraded')
    assertEquals(body.database, 'down')
    assertEquals(Object.keys(body).sort(), ['database', 'jwks', 'status'])
    assertEquals(headers.get('Retry-After'), '5')
  } finally {
    await stackControl('postgres/start')
  }
  // Reconnecting takes a moment (through a pooler, its server login is retried too): poll, and
  // accept nothing but "database down" meanwhile.
  let body = (await health()).body
  for (let i = 0; i < 50 && body.database === 'down'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    body = (await health()).body
  }
  assertEquals(body.database ?? 'ok', 'ok')
  assertEquals(body.status === 'ok' || body.jwks === 'down', true)
})

Deno.test('GET /health answers other methods with 405 Allow: GET', async () => {
  const response = await fetch(`${testStack().functionsUrl}/health`, { method: 'POST' })
  assertEquals(response.status, 405)
  assertEquals(response.headers.get('Allow'), 'GET')
  assertEquals(await response.json(), {
    error: 'method_not_allowed',
    error_description: 'Method not allowed',
  })
})
