// The official MCP TypeScript SDK client against the stack's `mcp` function and the real auth
// server as an OAuth 2.1 server: discovery from the 401's resource_metadata, dynamic client
// registration, authorization code with PKCE, a real user approving (or denying) on the demo
// site's consent page in headless Chromium, token exchange, tools, refresh and grant revocation.
import { assert, assertEquals, assertMatch, assertRejects } from '@std/assert'
import { decodeJwt } from 'jose'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import {
  auth,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  UnauthorizedError,
} from '@modelcontextprotocol/sdk/client/auth.js'
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js'
import type { Page } from 'npm:playwright-core@1.65.1'
import { withAdmin } from '../_helpers/db_faults.ts'
import { eventually } from '../_helpers/poll.ts'
import {
  hasAuthServer,
  loginUser,
  stackConfig,
  supabaseJsClient,
  type TestStack,
  testStack,
} from '../_helpers/stack.ts'
import { Hono } from 'hono'
import { authFromConfig } from '../../functions/_shared/auth/from_env.ts'
import { type AuthEnv, requireUser } from '../../functions/_shared/hono/adapter.ts'
import {
  type Exchange,
  ignoreBrowser,
  launchChromium,
  recordNetwork,
  screenshot,
  type TestBrowser,
} from './chromium.ts'

/** One HTTP request the MCP client made, as it saw the answer. */
interface Recorded {
  method: string
  url: string
  status: number
}

/** Where the authorization server sends the browser back: a loopback server of the test's own. */
interface Callback {
  url: string
  /** The query of the first visit. */
  next(): Promise<URLSearchParams>
  close(): Promise<void>
}

function startCallback(): Callback {
  let resolve: (query: URLSearchParams) => void = () => {}
  const visit = new Promise<URLSearchParams>((done) => (resolve = done))
  const server = Deno.serve({ hostname: '127.0.0.1', port: 0, onListen: () => {} }, (request) => {
    const url = new URL(request.url)
    if (url.pathname !== '/callback') return new Response('not found', { status: 404 })
    resolve(url.searchParams)
    return new Response('<p id="done">You can close this window.</p>', {
      headers: { 'Content-Type': 'text/html' },
    })
  })
  return {
    url: `http://127.0.0.1:${server.addr.port}/callback`,
    next: () => visit,
    close: () => server.shutdown(),
  }
}

/** An in-memory OAuth client provider, as an MCP host keeps its registration and tokens. */
class MemoryProvider implements OAuthClientProvider {
  client?: OAuthClientInformationMixed
  saved?: OAuthTokens
  verifier = ''
  authorizationUrl?: URL

  constructor(readonly callback: string, readonly name: string) {}

  get redirectUrl(): string {
    return this.callback
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: this.name,
      redirect_uris: [this.callback],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }
  }

  state(): string {
    return crypto.randomUUID()
  }

  clientInformation() {
    return this.client
  }

  saveClientInformation(info: OAuthClientInformationMixed): void {
    this.client = info
  }

  tokens() {
    return this.saved
  }

  saveTokens(tokens: OAuthTokens): void {
    this.saved = tokens
  }

  redirectToAuthorization(url: URL): void {
    this.authorizationUrl = url
  }

  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier
  }

  codeVerifier(): string {
    return this.verifier
  }

  // Kept as a host keeps it: the resource metadata URL came from the 401 challenge, and the
  // function's metadata cannot be found from its URL alone (no path-based well-known on the
  // gateway), so a later refresh must not rediscover.
  discovery?: OAuthDiscoveryState

  discoveryState() {
    return this.discovery
  }

  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.discovery = state
  }
}

/** A fetch that records every request the SDK makes, in order. */
function recordingFetch(log: Recorded[]): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init)
    const response = await fetch(request)
    log.push({ method: request.method, url: request.url, status: response.status })
    return response
  }
}

/** A user signed up through the auth server's public signup, as a person would. */
async function signUp(): Promise<{ email: string; password: string }> {
  const stack = testStack()
  const email = `mcp-${crypto.randomUUID()}@example.com`
  const password = `pw-${crypto.randomUUID()}`
  const response = await fetch(`${stack.url}/auth/v1/signup`, {
    method: 'POST',
    headers: { apikey: stack.publishableKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password }),
  })
  assertEquals(response.status, 200, await response.clone().text())
  await response.body?.cancel()
  return { email, password }
}

/** Signs in on the consent page and answers; returns what the callback received. */
async function consent(
  page: Page,
  authorizationUrl: URL,
  user: { email: string; password: string },
  decision: 'approve' | 'deny',
  callback: Callback,
  expectedClientName: string,
): Promise<URLSearchParams> {
  await page.goto(authorizationUrl.href)
  await page.locator('#consent-status[data-state="sign-in"]').waitFor()
  await page.fill('#consent-email', user.email)
  await page.fill('#consent-password', user.password)
  await page.click('#consent-sign-in')
  await page.locator('#consent-status[data-state="consent"], #consent-status[data-state="error"]')
    .waitFor()
  assertEquals(
    await page.getAttribute('#consent-status', 'data-state'),
    'consent',
    await page.textContent('#consent-status') ?? '',
  )
  assertEquals((await page.textContent('#consent-client-name'))?.trim(), expectedClientName)
  assertEquals((await page.textContent('#consent-user-email'))?.trim(), user.email)
  const scopes = (await page.locator('#consent-scopes li').allTextContents()).map((s) => s.trim())
  assertEquals(scopes, ['openid', 'profile', 'email', 'phone', 'offline_access'])
  await screenshot(page, `mcp-consent-${decision}`)
  await page.click(decision === 'approve' ? '#consent-approve' : '#consent-deny')
  return await callback.next()
}

function networkLine(exchange: Exchange): string {
  return `${exchange.kind === 'preflight' ? 'preflight ' : ''}${exchange.method} ${exchange.url} ${
    exchange.status ?? exchange.failure
  }`
}

/** A user's sessions, the client's among them, and their revoked consents to that client. */
function grantState(stack: TestStack, userId: string, clientId: string) {
  return withAdmin(stack, async (sql) => {
    const [row] = await sql`select
        (select count(*)::int from auth.sessions
          where user_id = ${userId}::uuid and oauth_client_id = ${clientId}::uuid) as client_sessions,
        (select count(*)::int from auth.sessions
          where user_id = ${userId}::uuid and oauth_client_id is null) as user_sessions,
        (select count(*)::int from auth.oauth_consents where user_id = ${userId}::uuid
          and client_id = ${clientId}::uuid and revoked_at is not null) as revoked_consents`
    return {
      clientSessions: row!.client_sessions as number,
      userSessions: row!.user_sessions as number,
      revokedConsents: row!.revoked_consents as number,
    }
  })
}

/** A raw `tools/list` call with a bearer, outside the SDK (which would refresh or re-authorize). */
function listTools(mcpUrl: URL, token: string): Promise<Response> {
  return fetch(mcpUrl, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  })
}

/**
 * The client's first connection refused, then the user's answer on the consent page: what the
 * client's callback received.
 */
async function answerConsent(
  state: Flow,
  decision: 'approve' | 'deny',
): Promise<{ query: URLSearchParams; transport: StreamableHTTPClientTransport }> {
  const { mcpUrl, provider, browser, user, callback, clientName } = state
  const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider })
  await assertRejects(
    () => new Client({ name: 'edge-auth-test', version: '1.0.0' }).connect(transport),
    UnauthorizedError,
  )
  const page = await browser.context.newPage()
  const query = await consent(
    page,
    provider.authorizationUrl!,
    user,
    decision,
    callback,
    clientName,
  )
  return { query, transport }
}

/** What each flow starts from: a new user, the client's callback, Chromium, the client's state. */
interface Flow {
  stack: TestStack
  mcpUrl: URL
  user: { email: string; password: string }
  callback: Callback
  browser: TestBrowser
  clientName: string
  provider: MemoryProvider
}

/** Runs `run` on a new flow, then closes its browser and its callback server. */
async function withFlow(kind: string, run: (flow: Flow) => Promise<void>): Promise<void> {
  const stack = testStack()
  const callback = startCallback()
  try {
    const clientName = `edge-auth ${kind} client ${crypto.randomUUID().slice(0, 8)}`
    const user = await signUp()
    const browser = await launchChromium()
    try {
      await run({
        stack,
        mcpUrl: new URL(`${stack.functionsUrl}/mcp`),
        user,
        callback,
        browser,
        clientName,
        provider: new MemoryProvider(callback.url, clientName),
      })
    } finally {
      await browser.close()
    }
  } finally {
    await callback.close()
  }
}

Deno.test({
  name:
    'MCP SDK client: 401 resource_metadata -> discovery -> dynamic registration -> PKCE code approved by the user -> tools; the same token 403 on notes and logout and on a route listing another client, 401 invalid_api_key on sessions, 200 on me and on a route listing it -> refresh -> grant revoked refuses the next call',
  ignore: !hasAuthServer || ignoreBrowser,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withFlow('test', async (flow) => {
      const { stack, mcpUrl, user, callback, browser, clientName, provider } = flow
      const log: Recorded[] = []
      const fetchFn = recordingFetch(log)
      const page = await browser.context.newPage()
      const network = await recordNetwork(browser.context, page)

      // 1. Unauthenticated: the SDK discovers, registers and asks for the user's consent.
      const first = new StreamableHTTPClientTransport(mcpUrl, {
        authProvider: provider,
        fetch: fetchFn,
      })
      const client = new Client({ name: 'edge-auth-test', version: '1.0.0' })
      await assertRejects(() => client.connect(first), UnauthorizedError)
      assert(provider.client?.client_id, 'dynamic registration gave a client id')
      const authorizationUrl = provider.authorizationUrl!
      assertEquals(
        authorizationUrl.origin + authorizationUrl.pathname,
        `${stack.issuer}/oauth/authorize`,
      )
      assertEquals(authorizationUrl.searchParams.get('code_challenge_method'), 'S256')
      assertEquals(authorizationUrl.searchParams.get('resource'), mcpUrl.href)

      // 2. The user approves in the browser; the client exchanges the code.
      const query = await consent(page, authorizationUrl, user, 'approve', callback, clientName)
      const code = query.get('code')
      assert(code, `a code in the callback: ${query}`)
      await first.finishAuth(code)
      const tokens = provider.saved!
      assert(tokens.access_token && tokens.refresh_token)
      const claims = decodeJwt(tokens.access_token)
      console.log('access token claims:', JSON.stringify(claims))
      console.log(
        'token response:',
        JSON.stringify({ ...tokens, access_token: '…', refresh_token: '…' }),
      )
      assertEquals(claims.client_id, provider.client!.client_id)
      assertEquals(claims.aud, 'authenticated')

      // 3. Tools over the user's notes.
      const transport = new StreamableHTTPClientTransport(mcpUrl, {
        authProvider: provider,
        fetch: fetchFn,
      })
      const connected = new Client({ name: 'edge-auth-test', version: '1.0.0' })
      await connected.connect(transport)
      const tools = await connected.listTools()
      assertEquals(tools.tools.map((tool: { name: string }) => tool.name).sort(), [
        'add_note',
        'delete_note',
        'list_notes',
      ])
      const added = await connected.callTool({ name: 'add_note', arguments: { body: 'from MCP' } })
      assertEquals(added.isError, undefined)
      const listed = await connected.callTool({ name: 'list_notes', arguments: {} })
      const notes = JSON.parse((listed.content as { text: string }[])[0]!.text) as {
        body: string
      }[]
      assertEquals(notes.map((note) => note.body), ['from MCP'])

      // The same token elsewhere: first-party routes refuse an OAuth client, `me` answers it.
      for (const [method, name] of [['GET', 'notes'], ['POST', 'logout']] as const) {
        const response = await fetch(`${stack.functionsUrl}/${name}`, {
          method,
          headers: { Authorization: `Bearer ${tokens.access_token}`, apikey: stack.publishableKey },
        })
        assertEquals(response.status, 403, `${method} ${name}`)
        assertEquals(await response.json(), {
          error: 'insufficient_scope',
          error_description: 'this route does not accept tokens issued to OAuth clients',
        })
        assert(response.headers.get('WWW-Authenticate')?.includes('error="insufficient_scope"'))
      }
      // A server callers' route: a user's bearer, a client's too, is no credential there.
      const sessions = await fetch(`${stack.functionsUrl}/sessions/revoke`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${tokens.access_token}`,
          'Content-Type': 'application/json',
        },
        body: JSON.stringify({ user_id: claims.sub }),
      })
      assertEquals(sessions.status, 401)
      assertEquals((await sessions.json()).error, 'invalid_api_key')
      // A route listing client ids, with the real token: its client admitted, another list refuses.
      const routeAuth = authFromConfig(stackConfig())
      try {
        for (
          const [clients, status] of [
            [[String(claims.client_id)], 200],
            [[crypto.randomUUID()], 403],
          ] as const
        ) {
          const route = new Hono<AuthEnv>()
          route.get('/r', requireUser(routeAuth, { session: 'check', clients }), (c) => {
            return c.json({ client: c.var.auth.client?.id })
          })
          const response = await route.request('/r', {
            headers: { Authorization: `Bearer ${tokens.access_token}` },
          })
          assertEquals(response.status, status, `clients ${clients}`)
          assertEquals(
            (await response.json()).client ?? 'refused',
            status === 200 ? claims.client_id : 'refused',
          )
        }
      } finally {
        await routeAuth.close()
      }
      const me = await fetch(`${stack.functionsUrl}/me`, {
        headers: { Authorization: `Bearer ${tokens.access_token}` },
      })
      assertEquals(me.status, 200)
      assertEquals((await me.json()).user.id, claims.sub)

      // 4. Refresh through the SDK: a new access token for the same session.
      await auth(provider, { serverUrl: mcpUrl, fetchFn })
      const refreshed = provider.saved!
      assert(refreshed.access_token !== tokens.access_token, 'a new access token')
      assert(refreshed.refresh_token !== tokens.refresh_token, 'the refresh token rotated')
      const refreshedClaims = decodeJwt(refreshed.access_token)
      assertEquals(refreshedClaims.session_id, claims.session_id)
      assertEquals(refreshedClaims.client_id, claims.client_id)
      const again = await connected.callTool({ name: 'list_notes', arguments: {} })
      assertEquals(again.isError, undefined)

      // 5. The user revokes the grant: the client's session ends and the next call is refused.
      const clientId = String(claims.client_id)
      const grantBefore = await grantState(stack, String(claims.sub), clientId)
      console.log('before revoke:', JSON.stringify(grantBefore))
      assertEquals(grantBefore.clientSessions, 1, "the client's own session")
      assertEquals(grantBefore.revokedConsents, 0)
      const supabase = supabaseJsClient(stack)
      const signedIn = await supabase.auth.signInWithPassword(user)
      assertEquals(signedIn.error, null)
      const grants = await supabase.auth.oauth.listGrants()
      console.log('grants:', JSON.stringify(grants.data))
      const revokedAt = performance.now()
      const revoked = await supabase.auth.oauth.revokeGrant({ clientId })
      assertEquals(revoked.error, null)
      const { value: refusal } = await eventually(async () => {
        const response = await listTools(mcpUrl, refreshed.access_token)
        const body = await response.text()
        return response.status === 401
          ? { status: response.status, body, headers: response.headers }
          : undefined
      }, {
        timeoutMs: 3000,
        what: 'the MCP call refused after the grant was revoked',
        since: revokedAt,
      })
      const refusedMs = performance.now() - revokedAt
      console.log(`refused ${refusedMs.toFixed(0)} ms after the revocation:`, refusal.body)
      assert(refusedMs < 1500, `refused within the session check bound (${refusedMs} ms)`)
      assertMatch(refusal.headers.get('www-authenticate') ?? '', /resource_metadata="/)
      const grantAfter = await grantState(stack, String(claims.sub), clientId)
      console.log('after revoke:', JSON.stringify(grantAfter))
      assertEquals(grantAfter.clientSessions, 0, "the client's session row is deleted")
      assertEquals(grantAfter.revokedConsents, 1, 'the consent is kept, marked revoked')
      // The user's own sessions stay: those before, and the sign-in that revoked the grant.
      assertEquals(grantAfter.userSessions, grantBefore.userSessions + 1)
      const refreshAfter = await fetch(`${stack.issuer}/oauth/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: refreshed.refresh_token!,
          client_id: String(claims.client_id),
        }),
      })
      console.log('refresh after revoke:', refreshAfter.status, await refreshAfter.text())
      const userinfo = await fetch(`${stack.issuer}/oauth/userinfo`, {
        headers: { Authorization: `Bearer ${refreshed.access_token}` },
      })
      console.log('userinfo after revoke:', userinfo.status, await userinfo.text())

      console.log('MCP client requests, in order:')
      for (const entry of log) console.log(`  ${entry.method} ${entry.url} ${entry.status}`)
      console.log('browser requests, in order:')
      for (const exchange of network) console.log(`  ${networkLine(exchange)}`)
      await connected.close()
    })
  },
})

Deno.test({
  name:
    'MCP SDK client: the user denies on the consent page -> access_denied at the callback, no token',
  ignore: !hasAuthServer || ignoreBrowser,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withFlow('denied', async (state) => {
      const { provider } = state
      const { query } = await answerConsent(state, 'deny')
      assertEquals(query.get('error'), 'access_denied')
      assertEquals(query.get('code'), null)
      assertEquals(query.get('state'), provider.authorizationUrl!.searchParams.get('state'))
      assertEquals(provider.saved, undefined)
    })
  },
})

Deno.test({
  name:
    "MCP SDK client: the user signs out everywhere with their own token (POST /logout?scope=global) -> the client's next MCP call is 401 session revoked within the session check's bound",
  ignore: !hasAuthServer || ignoreBrowser,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withFlow('signed-out', async (state) => {
      const { stack, mcpUrl, user, provider } = state
      const { query, transport: first } = await answerConsent(state, 'approve')
      await first.finishAuth(query.get('code')!)
      const connected = new Client({ name: 'edge-auth-test', version: '1.0.0' })
      await connected.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider }))
      assertEquals((await connected.listTools()).tools.length, 3)
      await connected.close()

      const own = await loginUser({ ...user, id: '' }, stack)
      const out = await fetch(`${stack.functionsUrl}/logout?scope=global`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${own.access_token}`, apikey: stack.publishableKey },
      })
      assertEquals(out.status, 204)
      const since = performance.now()
      const { value, elapsedMs } = await eventually(async () => {
        const response = await listTools(mcpUrl, provider.saved!.access_token)
        const body = await response.text()
        return response.status === 401 ? body : undefined
      }, { timeoutMs: 3000, what: "the client's call refused after the sign-out", since })
      console.log(`refused ${elapsedMs.toFixed(0)} ms after the sign-out:`, value)
      assertEquals(JSON.parse(value), {
        error: 'invalid_token',
        error_description: 'session revoked',
      })
      assert(elapsedMs < 1500, `refused within the session check bound (${elapsedMs} ms)`)
    })
  },
})
