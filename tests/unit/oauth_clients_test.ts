// Tokens Supabase Auth issues to OAuth clients (`client_id` and `scope` claims, `aud` the same as
// the user's own) under each route policy: refused by default, admitted by an allow-list or
// `any`, scopes required per route; the user's own tokens are never scoped. The real OAuth server
// issuing them to the official MCP client is in tests/browser/mcp_oauth_flow_test.ts.
import { assertEquals } from '@std/assert'
import { Hono } from 'hono'
import fc from 'fast-check'
import { type AuthPolicy } from '../../functions/_shared/auth/authenticate.ts'
import { authFromConfig } from '../../functions/_shared/auth/from_env.ts'
import { REALM } from '../../functions/_shared/core/errors.ts'
import { type AuthEnv, requireUser } from '../../functions/_shared/hono/adapter.ts'
import { createMeApp } from '../../functions/me/app.ts'
import { assertAuthError } from '../_helpers/assert_auth.ts'
import { ManualClock, testConfig } from '../_helpers/jwks_server.ts'
import { claims, generateKeyPair, jwksOf, sign } from '../_helpers/keys.ts'

const key = await generateKeyPair('ES256')
const SCOPES = ['openid', 'profile', 'email', 'phone', 'offline_access'] as const
const clock = new ManualClock()
const config = testConfig({ SUPABASE_JWKS: JSON.stringify(jwksOf(key)) })
const deps = { clock, sessionStore: () => Promise.resolve('live' as const) }

function app(policy: Omit<AuthPolicy, 'session'>) {
  const auth = authFromConfig(config, deps)
  const hono = new Hono<AuthEnv>()
  hono.get('/r', requireUser(auth, { session: 'check', ...policy }), (c) => {
    return c.json({ client: c.var.auth.client })
  })
  return hono
}

function clientToken(clientId: string, scopes: readonly string[]): Promise<string> {
  return sign(key, claims({ client_id: clientId, scope: scopes.join(' ') }, clock.now()))
}

const get = (hono: Hono<AuthEnv>, token: string) =>
  hono.request('/r', { headers: { Authorization: `Bearer ${token}` } })

const clientId = fc.uuid()
const scopes = fc.subarray([...SCOPES])

Deno.test('a route with the default policy, generated OAuth client tokens -> 403 insufficient_scope with an RFC 6750 challenge', async () => {
  const hono = app({})
  await fc.assert(
    fc.asyncProperty(clientId, scopes, async (id, granted) => {
      const token = await clientToken(id, granted)
      await assertAuthError(await get(hono, token), 'SCOPE', 'oauthClientNotAllowed', [token, id])
    }),
    { numRuns: 15 },
  )
})

Deno.test('a route listing one client id -> that client 200 with its id and scopes, any other client 403', async () => {
  await fc.assert(
    fc.asyncProperty(clientId, clientId, scopes, async (listed, other, granted) => {
      fc.pre(listed !== other)
      const hono = app({ clients: [listed] })
      const admitted = await get(hono, await clientToken(listed, granted))
      assertEquals(admitted.status, 200)
      assertEquals(await admitted.json(), { client: { id: listed, scopes: granted } })
      const token = await clientToken(other, granted)
      await assertAuthError(await get(hono, token), 'SCOPE', 'oauthClientNotAllowed', [token])
    }),
    { numRuns: 15 },
  )
})

Deno.test('a route requiring scopes, generated grants -> 200 when every one is granted, else 403 naming them in scope="…"', async () => {
  await fc.assert(
    fc.asyncProperty(clientId, scopes, fc.subarray([...SCOPES], { minLength: 1 }), async (
      id,
      granted,
      required,
    ) => {
      const hono = app({ clients: 'any', scopes: required })
      const response = await get(hono, await clientToken(id, granted))
      if (required.every((scope) => granted.includes(scope))) {
        assertEquals(response.status, 200)
        await response.body?.cancel()
        return
      }
      assertEquals(response.status, 403)
      assertEquals(await response.json(), {
        error: 'insufficient_scope',
        error_description: 'the token lacks a scope this route requires',
      })
      assertEquals(
        response.headers.get('WWW-Authenticate'),
        `Bearer realm="${REALM}", error="insufficient_scope", error_description="the token lacks a scope this route requires", scope="${
          required.join(' ')
        }"`,
      )
    }),
    { numRuns: 25 },
  )
})

Deno.test("the user's own token (no client_id) -> 200 under every client policy, client null", async () => {
  for (const policy of [{}, { clients: 'any' as const, scopes: ['email'] }, { clients: ['x'] }]) {
    const response = await get(app(policy), await sign(key, claims({}, clock.now())))
    assertEquals(response.status, 200)
    assertEquals(await response.json(), { client: null })
  }
})

Deno.test('GET /me with an OAuth client token -> 200, the email only with the email scope, user_metadata only with profile', async () => {
  const me = createMeApp(config, deps)
  await fc.assert(
    fc.asyncProperty(clientId, scopes, async (id, granted) => {
      const c = claims({ client_id: id, scope: granted.join(' ') }, clock.now())
      const response = await me.request('/me', {
        headers: { Authorization: `Bearer ${await sign(key, c)}` },
      })
      assertEquals(response.status, 200)
      const { user } = await response.json()
      assertEquals(user.email, granted.includes('email') ? c.email : null)
      assertEquals(user.user_metadata, granted.includes('profile') ? c.user_metadata : {})
      assertEquals(user.id, c.sub)
    }),
    { numRuns: 15 },
  )
})
