// OAuth discovery on the local stack, as an MCP client meets it before it has any credential:
// the `mcp` function's 401 and RFC 9728 metadata, the gateway's RFC 8414 documents for the
// issuer `/auth/v1` at every URL the MCP SDK tries, and which auth routes an OAuth client reaches
// without the project's API key (and which it still cannot).
import { assert, assertEquals, assertMatch } from '@std/assert'
import fc from 'fast-check'
import { buildDiscoveryUrls } from '@modelcontextprotocol/sdk/client/auth.js'
import { hasAuthServer, testStack } from '../_helpers/stack.ts'

Deno.test({
  name: 'GET/POST /mcp without a token -> 401 whose Bearer challenge names the resource metadata',
  ignore: !hasAuthServer,
  async fn() {
    const stack = testStack()
    const mcp = `${stack.functionsUrl}/mcp`
    for (const method of ['GET', 'POST']) {
      const response = await fetch(mcp, { method, body: method === 'POST' ? '{}' : undefined })
      assertEquals(response.status, 401)
      assertEquals(await response.json(), {
        error: 'unauthorized',
        error_description: 'Authentication required',
      })
      assertEquals(
        response.headers.get('www-authenticate'),
        `Bearer realm="edge-auth", resource_metadata="${mcp}/.well-known/oauth-protected-resource"`,
      )
    }
  },
})

Deno.test({
  name: 'GET /mcp/.well-known/oauth-protected-resource -> RFC 9728 document, public, any origin',
  ignore: !hasAuthServer,
  async fn() {
    const stack = testStack()
    const url = `${stack.functionsUrl}/mcp/.well-known/oauth-protected-resource`
    const response = await fetch(url, { headers: { Origin: 'https://client.example' } })
    assertEquals(response.status, 200)
    assertEquals(response.headers.get('content-type'), 'application/json')
    assertEquals(response.headers.get('access-control-allow-origin'), '*')
    const document = await response.json()
    assertEquals(document.resource, `${stack.functionsUrl}/mcp`)
    assertEquals(document.authorization_servers, [stack.issuer])
    assertEquals(document.bearer_methods_supported, ['header'])
    assertEquals(document.scopes_supported, [
      'openid',
      'profile',
      'email',
      'phone',
      'offline_access',
    ])
    const preflight = await fetch(url, {
      method: 'OPTIONS',
      headers: { Origin: 'https://client.example', 'Access-Control-Request-Method': 'GET' },
    })
    await preflight.body?.cancel()
    assertEquals(preflight.status, 204)
    assertEquals(preflight.headers.get('access-control-allow-origin'), '*')
    const post = await fetch(url, { method: 'POST' })
    assertEquals(post.status, 405)
    assertEquals(post.headers.get('allow'), 'GET')
    await post.body?.cancel()
  },
})

Deno.test({
  name:
    'every authorization-server metadata URL the MCP SDK tries for /auth/v1 -> 200 without apikey',
  ignore: !hasAuthServer,
  async fn() {
    const stack = testStack()
    const urls = buildDiscoveryUrls(stack.issuer)
    assertEquals(urls.length, 3)
    for (const { url } of urls) {
      const response = await fetch(url)
      assertEquals(response.status, 200, url.href)
      const metadata = await response.json()
      assertEquals(metadata.issuer, stack.issuer, url.href)
      assertEquals(metadata.registration_endpoint, `${stack.issuer}/oauth/clients/register`)
      assertEquals(metadata.token_endpoint, `${stack.issuer}/oauth/token`)
      assertEquals(metadata.authorization_endpoint, `${stack.issuer}/oauth/authorize`)
      assert(metadata.code_challenge_methods_supported.includes('S256'))
    }
    // The issuer-relative copy is public too; a path outside `/auth/v1` is not an issuer here.
    const own = await fetch(`${stack.issuer}/.well-known/oauth-authorization-server`)
    assertEquals(own.status, 200)
    await own.body?.cancel()
    for (
      const path of [
        '/.well-known/oauth-authorization-server',
        '/.well-known/oauth-authorization-server/rest/v1',
      ]
    ) {
      const response = await fetch(`${stack.url}${path}`)
      assertEquals(response.status, 404, path)
      assertEquals((await response.json()).error, 'not_found')
    }
  },
})

Deno.test({
  name:
    'OAuth client routes without apikey reach the auth server; every other auth route -> 401 invalid_api_key',
  ignore: !hasAuthServer,
  async fn() {
    const stack = testStack()
    // The auth server's own refusals, not the gateway's: the request got through.
    const token = await fetch(`${stack.issuer}/oauth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=authorization_code&code=nope&client_id=nope',
    })
    assert(token.status >= 400 && token.status < 500, String(token.status))
    assert((await token.text()).indexOf('invalid_api_key') === -1)
    const register = await fetch(`${stack.issuer}/oauth/clients/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ client_name: 'x', redirect_uris: ['not a url'] }),
    })
    assertEquals(register.status, 400)
    assert((await register.text()).indexOf('invalid_api_key') === -1)
    const authorize = await fetch(`${stack.issuer}/oauth/authorize?client_id=nope`, {
      redirect: 'manual',
    })
    assertEquals(authorize.status, 400)
    assert((await authorize.text()).indexOf('invalid_api_key') === -1)

    // Generated paths around the public ones: consent, grants, admin and look-alikes stay closed.
    const segment = fc.stringMatching(/^[a-z0-9_-]{1,12}$/)
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          segment.map((id) => ['GET', `/oauth/authorizations/${id}`]),
          segment.map((id) => ['POST', `/oauth/authorizations/${id}/consent`]),
          fc.constant(['GET', '/oauth/grants']),
          fc.constant(['DELETE', '/oauth/grants']),
          fc.constant(['GET', '/admin/oauth/clients']),
          fc.constant(['POST', '/admin/oauth/clients']),
          segment.map((s) => ['POST', `/oauth/token/${s}`]),
          segment.map((s) => ['GET', `/oauth/authorize${s.startsWith('/') ? s : `-${s}`}`]),
          fc.constant(['PUT', '/oauth/clients/register']),
          fc.constant(['DELETE', '/oauth/token']),
          fc.constant(['GET', '/user']),
        ),
        async ([method, path]) => {
          const response = await fetch(`${stack.issuer}${path}`, { method })
          assertEquals(response.status, 401, `${method} ${path}`)
          assertEquals((await response.json()).error, 'invalid_api_key')
        },
      ),
      { numRuns: 40 },
    )
    assertMatch(stack.issuer, /\/auth\/v1$/)
  },
})
