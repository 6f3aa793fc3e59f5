// The health function through the stack's gateway: what it reports when every dependency answers,
// when PostgreSQL is stopped, and once it is back (no restart of the function).
import { assertEquals } from '@std/assert'
import { eventually } from '../_helpers/poll.ts'
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

// Without the auth server the stack leaves the migrations that need its schema pending: the
// session store the database probe reads does not exist, and the probe says so.
Deno.test({
  name:
    'GET /health without the auth server (no signing keys, no session store) -> 503 degraded, jwks and database down, nothing more',
  ignore: hasAuthServer,
  async fn() {
    const { status, body, headers } = await health()
    assertEquals([status, body], [503, { status: 'degraded', jwks: 'down', database: 'down' }])
    assertCommonHeaders(headers)
    assertEquals(headers.get('Retry-After'), '5')
  },
})

Deno.test('GET /health with PostgreSQL stopped -> 503 database down; after it restarts -> database ok again', async () => {
  // What the keys report does not depend on PostgreSQL: ok with the auth server, down without.
  const jwks = hasAuthServer ? 'ok' : 'down'
  const down = { status: 'degraded', jwks, database: 'down' }
  const assertDown = (answer: Awaited<ReturnType<typeof health>>) => {
    assertEquals([answer.status, answer.body], [503, down])
    assertCommonHeaders(answer.headers)
    assertEquals(answer.headers.get('Retry-After'), '5')
  }
  await stackControl('postgres/stop')
  try {
    assertDown(await health())
  } finally {
    await stackControl('postgres/start')
  }
  // Without the auth server there is no session store to report ok.
  if (!hasAuthServer) {
    assertDown(await health())
    return
  }
  // Reconnecting takes a moment (through a pooler, its server login is retried too): poll, and
  // accept nothing but "database down" meanwhile.
  const { value: back } = await eventually(async () => {
    const answer = await health()
    if (answer.body.database === undefined || answer.body.database === 'ok') return answer
    assertDown(answer)
  }, { timeoutMs: 10_000, intervalMs: 100, what: 'GET /health reports the database ok again' })
  assertEquals([back.status, back.body], [200, { status: 'ok' }])
  assertEquals(back.headers.get('Retry-After'), null)
  assertCommonHeaders(back.headers)
})

Deno.test('GET /health answers other methods with 405 Allow: GET', async () => {
  const response = await fetch(`${testStack().functionsUrl}/health`, { method: 'POST' })
  assertEquals(response.status, 405)
  assertEquals(response.headers.get('Allow'), 'GET')
  assertCommonHeaders(response.headers)
  assertEquals(await response.json(), {
    error: 'method_not_allowed',
    error_description: 'Method not allowed',
  })
})
