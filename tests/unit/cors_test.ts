// CORS rules, on the login function's app (any function behaves the same:
// they all start from createFunctionApp).
import { assertEquals, assertStringIncludes } from '@std/assert'
import { loadConfig } from '../../functions/_shared/core/config.ts'
import { createLoginApp } from '../../functions/login/app.ts'
import { createMcpApp } from '../../functions/mcp/app.ts'
import { closedPort } from '../_helpers/local_server.ts'

const APP_ORIGIN = 'https://app.example.com'

/** A function's configuration with these allowed origins (default `*`). */
function configWith(origins?: string) {
  const vars: Record<string, string | undefined> = {
    SUPABASE_URL: `http://127.0.0.1:${closedPort()}`,
    SUPABASE_ANON_KEY: 'anon',
    EDGE_AUTH_CORS_ORIGINS: origins,
  }
  return loadConfig({ get: (name) => vars[name] })
}

function loginApp(origins?: string) {
  return createLoginApp(configWith(origins))
}

function preflight(app: ReturnType<typeof loginApp>, origin: string) {
  return app.request('/login', {
    method: 'OPTIONS',
    headers: {
      Origin: origin,
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'content-type, authorization',
    },
  })
}

Deno.test('X01 preflight from an allowed origin -> 204 with that exact origin, Vary, methods, headers, max-age; before any auth', async () => {
  const response = await preflight(loginApp(`${APP_ORIGIN},http://127.0.0.1:3000`), APP_ORIGIN)
  assertEquals(response.status, 204)
  assertEquals(response.headers.get('Access-Control-Allow-Origin'), APP_ORIGIN)
  assertEquals(response.headers.get('Vary'), 'Origin')
  assertEquals(response.headers.get('Access-Control-Allow-Methods'), 'POST, OPTIONS')
  const allowed = response.headers.get('Access-Control-Allow-Headers') ?? ''
  for (const header of ['authorization', 'apikey', 'content-type', 'x-client-info']) {
    assertStringIncludes(allowed, header)
  }
  assertEquals(response.headers.get('Access-Control-Max-Age'), '86400')
  assertEquals(response.headers.get('Access-Control-Allow-Credentials'), null)
  assertEquals(response.headers.get('Cache-Control'), 'no-store')
  assertEquals(await response.text(), '')
})

Deno.test('X01 preflight with the default origins (*) -> 204 Access-Control-Allow-Origin: *', async () => {
  const response = await preflight(loginApp(), 'https://anywhere.example')
  assertEquals(response.status, 204)
  assertEquals(response.headers.get('Access-Control-Allow-Origin'), '*')
  assertEquals(response.headers.get('Vary'), null)
})

Deno.test('X02 preflight or request from a disallowed origin (evil, null, suffix trick) -> 403 origin_not_allowed without ACAO', async () => {
  const app = loginApp(APP_ORIGIN)
  for (
    const origin of [
      'https://evil.example',
      'null',
      'https://app.example.com.evil.example',
      'http://app.example.com',
    ]
  ) {
    const pre = await preflight(app, origin)
    assertEquals(pre.status, 403, origin)
    assertEquals(pre.headers.get('Access-Control-Allow-Origin'), null)
    assertEquals(await pre.json(), {
      error: 'origin_not_allowed',
      error_description: 'Origin not allowed',
    })
    // The actual cross-site POST (login CSRF) is refused too, not just left unreadable.
    const post = await app.request('/login', {
      method: 'POST',
      headers: { Origin: origin, 'Content-Type': 'application/json' },
      body: '{"email":"a@b.c","password":"x"}',
    })
    assertEquals(post.status, 403)
    assertEquals(post.headers.get('Access-Control-Allow-Origin'), null)
    await post.body?.cancel()
  }
})

Deno.test('X02 a request without Origin (server-to-server, curl) is not subject to the origin list', async () => {
  const response = await loginApp(APP_ORIGIN).request('/login', {
    method: 'POST',
    headers: { 'Content-Type': 'text/plain' },
    body: 'x',
  })
  assertEquals(response.status, 415)
  assertEquals(response.headers.get('Access-Control-Allow-Origin'), null)
  await response.body?.cancel()
})

Deno.test('X03/X05 error responses carry CORS, no-store, nosniff, JSON type, expose WWW-Authenticate; never credentials or a Server banner', async () => {
  const response = await loginApp(APP_ORIGIN).request('/login', {
    method: 'POST',
    headers: { Origin: APP_ORIGIN, 'Content-Type': 'application/json' },
    body: '{',
  })
  assertEquals(response.status, 400)
  assertEquals(response.headers.get('Access-Control-Allow-Origin'), APP_ORIGIN)
  assertEquals(
    response.headers.get('Access-Control-Expose-Headers'),
    'WWW-Authenticate, Retry-After',
  )
  assertEquals(response.headers.get('Access-Control-Allow-Credentials'), null)
  assertEquals(response.headers.get('Cache-Control'), 'no-store')
  assertEquals(response.headers.get('X-Content-Type-Options'), 'nosniff')
  assertEquals(response.headers.get('Content-Type'), 'application/json')
  assertEquals(response.headers.get('Server'), null)
  await response.body?.cancel()
})

Deno.test('X01/X02 MCP metadata with an origin list: a listed origin reads it (that origin, Vary), another -> 403 origin_not_allowed without CORS headers, no Origin -> 200 without them, like every route', async () => {
  const app = createMcpApp(configWith(APP_ORIGIN))
  const path = '/mcp/.well-known/oauth-protected-resource'
  const listed = await app.request(path, { headers: { Origin: APP_ORIGIN } })
  assertEquals(listed.status, 200)
  assertEquals(listed.headers.get('Access-Control-Allow-Origin'), APP_ORIGIN)
  assertEquals(listed.headers.get('Vary'), 'Origin')
  assertEquals((await listed.json()).bearer_methods_supported, ['header'])
  const other = await app.request(path, { headers: { Origin: 'https://elsewhere.example' } })
  assertEquals(other.status, 403)
  assertEquals((await other.json()).error, 'origin_not_allowed')
  assertEquals(other.headers.get('Access-Control-Allow-Origin'), null)
  const native = await app.request(path)
  assertEquals(native.status, 200, 'a caller without Origin (not a browser) reads it')
  assertEquals(native.headers.get('Access-Control-Allow-Origin'), null, 'no origin to allow')
  await native.body?.cancel()
})
