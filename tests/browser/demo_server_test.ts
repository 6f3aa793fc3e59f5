// The demo page's server, without a browser: another origin than the API, a fixed set of files,
// and a config.json that carries the public anon key but never the service role key.
import { assert, assertEquals, assertNotEquals, assertStringIncludes } from '@std/assert'
import { join } from 'node:path'
import { repoRoot } from '../../supabase/local/paths.ts'
import { testStack } from '../_helpers/stack.ts'

Deno.test('the demo page is served on a loopback origin other than the API (so calls are cross-origin)', () => {
  const stack = testStack()
  const demo = new URL(stack.demoUrl)
  assertEquals(demo.hostname, '127.0.0.1')
  assertEquals(Number(demo.port), stack.ports.demo)
  assertNotEquals(demo.origin, new URL(stack.url).origin)
})

Deno.test('demo server: GET / , /demo.js and /demo.css -> 200 with their types, no-store, nosniff and a CSP that allows only the API', async () => {
  const stack = testStack()
  const expected: Record<string, string> = {
    '/': 'text/html; charset=utf-8',
    '/demo.js': 'text/javascript; charset=utf-8',
    '/demo.css': 'text/css; charset=utf-8',
  }
  for (const [path, type] of Object.entries(expected)) {
    const response = await fetch(`${stack.demoUrl}${path}`)
    await response.body?.cancel()
    assertEquals(response.status, 200, path)
    assertEquals(response.headers.get('Content-Type'), type, path)
    assertEquals(response.headers.get('Cache-Control'), 'no-store')
    assertEquals(response.headers.get('X-Content-Type-Options'), 'nosniff')
    const csp = response.headers.get('Content-Security-Policy') ?? ''
    assertStringIncludes(csp, "default-src 'none'")
    assertStringIncludes(csp, `connect-src 'self' ${new URL(stack.url).origin}`)
  }
})

Deno.test('demo server: GET /config.json -> the gateway URL, the publishable key and the demo user; never a secret key', async () => {
  const stack = testStack()
  const response = await fetch(`${stack.demoUrl}/config.json`)
  assertEquals(response.status, 200)
  assertEquals(response.headers.get('Content-Type'), 'application/json')
  const body = await response.text()
  assertEquals(JSON.parse(body), {
    apiUrl: stack.url,
    functionsUrl: stack.functionsUrl,
    publishableKey: stack.publishableKey,
    demoUser: stack.demoUser,
  })
  assert(!body.includes(stack.secretKey), 'the secret key is not published')
  assert(!body.includes(stack.serviceRoleKey), 'the service role key is not published')
  assert(!body.includes(stack.controlToken), 'the control token is not published')
})

Deno.test('demo server: any other path -> 404 (no file outside the list is reachable), POST -> 405 with Allow', async () => {
  const stack = testStack()
  for (
    const path of ['/stack.json', '/%2e%2e/stack.json', '/demo_server.ts', '/index.html', '/x']
  ) {
    const response = await fetch(`${stack.demoUrl}${path}`)
    const text = await response.text()
    assertEquals(response.status, 404, path)
    assertEquals(text, 'Not found')
  }
  const post = await fetch(`${stack.demoUrl}/`, { method: 'POST', body: '{}' })
  await post.body?.cancel()
  assertEquals(post.status, 405)
  assertEquals(post.headers.get('Allow'), 'GET, HEAD')
})

Deno.test('the demo page script type-checks as browser JavaScript (deno check with the DOM library)', async () => {
  // `deno task check` leaves it out: its DOM library would clash with Deno's in one program.
  const output = await new Deno.Command(Deno.execPath(), {
    args: ['check', join('supabase', 'local', 'demo', 'demo.js')],
    cwd: repoRoot,
    stdout: 'piped',
    stderr: 'piped',
  }).output()
  const errors = new TextDecoder().decode(output.stderr)
  assertEquals(output.code, 0, errors)
})
