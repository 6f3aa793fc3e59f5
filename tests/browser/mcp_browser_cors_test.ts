// An MCP client running in a web page (an inspector, a browser-based agent) calls the `mcp`
// function cross-origin, as the MCP SDK's transport does: `initialize`, then requests carrying
// the `MCP-Protocol-Version` header the protocol requires after it. Chromium preflights that
// header; the preflight must allow it, or the page sees a network error instead of its tools.
import { assert, assertEquals } from '@std/assert'
import { startLocalServer } from '../_helpers/local_server.ts'
import { createTestUser, hasAuthServer, loginUser, testStack } from '../_helpers/stack.ts'
import { ignoreBrowser, launchChromium, recordNetwork } from './chromium.ts'

/** A protocol version the pinned MCP SDK supports (not its latest), which the server answers with. */
const PROTOCOL_VERSION = '2025-06-18'

Deno.test({
  name:
    'MCP client in a web page on another origin: initialize, then tools/list with MCP-Protocol-Version -> the preflight allows that header, 200 with the tools; without a token -> 401 unauthorized, its WWW-Authenticate readable by the page',
  ignore: !hasAuthServer || ignoreBrowser,
  async fn() {
    const stack = testStack()
    const user = await createTestUser()
    const { access_token: token } = await loginUser(user)
    // A blank page on an origin of its own: the MCP client's page.
    const pageServer = startLocalServer(() =>
      new Response('<!doctype html><title>MCP client</title>', {
        headers: { 'Content-Type': 'text/html; charset=utf-8' },
      })
    )
    const browser = await launchChromium()
    try {
      const page = await browser.context.newPage()
      const network = await recordNetwork(browser.context, page)
      await page.goto(pageServer.url)
      const mcpUrl = `${stack.functionsUrl}/mcp`
      // Runs in the page: what the SDK's transport sends, with the page's own fetch.
      const results = await page.evaluate(async ({ url, token, version }) => {
        const call = async (id: number, method: string, headers: Record<string, string>) => {
          try {
            const response = await fetch(url, {
              method: 'POST',
              headers: {
                'Content-Type': 'application/json',
                Accept: 'application/json, text/event-stream',
                ...headers,
              },
              body: JSON.stringify({
                jsonrpc: '2.0',
                id,
                method,
                params: method === 'initialize'
                  ? {
                    protocolVersion: version,
                    capabilities: {},
                    clientInfo: { name: 'page', version: '1.0.0' },
                  }
                  : {},
              }),
            })
            return {
              status: response.status,
              body: await response.text(),
              challenge: response.headers.get('WWW-Authenticate'),
            }
          } catch (error) {
            return { status: 0, body: String(error), challenge: null }
          }
        }
        const bearer = { Authorization: `Bearer ${token}` }
        return [
          await call(1, 'initialize', bearer),
          await call(2, 'tools/list', { ...bearer, 'MCP-Protocol-Version': version }),
          await call(3, 'tools/list', { 'MCP-Protocol-Version': version }),
        ]
      }, { url: mcpUrl, token, version: PROTOCOL_VERSION })
      const [initialized, listed, anonymous] = results

      assertEquals(initialized!.status, 200, initialized!.body)
      assertEquals(JSON.parse(initialized!.body).result.protocolVersion, PROTOCOL_VERSION)
      assertEquals(listed!.status, 200, `tools/list from the page: ${listed!.body}`)
      assertEquals(
        JSON.parse(listed!.body).result.tools.map((tool: { name: string }) => tool.name).sort(),
        ['add_note', 'delete_note', 'list_notes'],
      )
      assertEquals(anonymous!.status, 401, anonymous!.body)
      assertEquals(JSON.parse(anonymous!.body).error, 'unauthorized')
      assert(
        anonymous!.challenge?.includes('resource_metadata='),
        `the page reads the challenge: ${anonymous!.challenge}`,
      )

      // Chromium caches a preflight's answer: the one before `initialize` already allowed the
      // header the later requests carry.
      const preflight = network.find((exchange) =>
        exchange.kind === 'preflight' && exchange.url === mcpUrl
      )
      assert(preflight, 'Chromium preflighted the cross-origin POST')
      assertEquals(preflight.status, 204)
      assertEquals(preflight.requestHeaders['origin'], pageServer.url)
      const allowed = (preflight.responseHeaders?.['access-control-allow-headers'] ?? '')
        .split(',').map((header) => header.trim())
      for (const header of ['authorization', 'content-type', 'mcp-protocol-version']) {
        assert(allowed.includes(header), `the preflight allows ${header}: ${allowed}`)
      }
    } finally {
      await browser.close()
      await pageServer.close()
    }
  },
})
