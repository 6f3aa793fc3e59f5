// An app that OAuth clients call names its RFC 9728 metadata in its challenges
// (`createFunctionApp`'s `resourceMetadata`): every 401 `Bearer` challenge carries
// `resource_metadata`, whatever refused the request; a 403, a 400 and an app without the option
// carry none. The `mcp` function through the real stack is in
// tests/integration/oauth_discovery_test.ts.
import { assertEquals } from '@std/assert'
import fc from 'fast-check'
import { authFromConfig } from '../../functions/_shared/auth/from_env.ts'
import {
  type AuthEnv,
  createFunctionApp,
  requireUser,
} from '../../functions/_shared/hono/adapter.ts'
import { ManualClock, testConfig } from '../_helpers/jwks_server.ts'
import { claims, generateKeyPair, jwksOf, sign } from '../_helpers/keys.ts'

const key = await generateKeyPair('ES256')
const clock = new ManualClock()
const config = testConfig({ SUPABASE_JWKS: JSON.stringify(jwksOf(key)) })
const METADATA = 'https://abc.supabase.co/functions/v1/api/.well-known/oauth-protected-resource'

function app(resourceMetadata?: string) {
  const auth = authFromConfig(config, {
    clock,
    sessionStore: () => Promise.resolve('live' as const),
  })
  const hono = createFunctionApp<AuthEnv>('api', {
    corsOrigins: '*',
    methods: ['GET'],
    resourceMetadata,
  })
  hono.get('/', requireUser(auth, { session: 'check' }), (c) => c.json({ id: c.var.auth.user.id }))
  return hono
}

const get = (hono: ReturnType<typeof app>, headers: Record<string, string>) =>
  hono.request('/api', { headers })

Deno.test('resourceMetadata set: GET without credentials -> 401 whose challenge names the metadata', async () => {
  const response = await get(app(METADATA), {})
  assertEquals(response.status, 401)
  assertEquals(
    response.headers.get('WWW-Authenticate'),
    `Bearer realm="edge-auth", resource_metadata="${METADATA}"`,
  )
  assertEquals((await response.json()).error, 'unauthorized')
})

Deno.test('resourceMetadata set: generated expired tokens -> 401 invalid_token, the error challenge then resource_metadata', async () => {
  const hono = app(METADATA)
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 60, max: 86_400 }), async (ago) => {
      const now = clock.now()
      const seconds = Math.floor(now / 1000)
      const token = await sign(
        key,
        claims({ iat: seconds - ago - 60, exp: seconds - ago }, now),
      )
      const response = await get(hono, { Authorization: `Bearer ${token}` })
      assertEquals(response.status, 401)
      const challenge = response.headers.get('WWW-Authenticate') ?? ''
      assertEquals(
        challenge.startsWith(
          'Bearer realm="edge-auth", error="invalid_token", error_description="token expired"',
        ),
        true,
      )
      assertEquals(challenge.endsWith(`, resource_metadata="${METADATA}"`), true)
      await response.body?.cancel()
    }),
    { numRuns: 10 },
  )
})

Deno.test('resourceMetadata set: an anonymous user -> 403 insufficient_scope, challenge without resource_metadata', async () => {
  const token = await sign(key, claims({ is_anonymous: true }, clock.now()))
  const response = await get(app(METADATA), { Authorization: `Bearer ${token}` })
  assertEquals(response.status, 403)
  assertEquals(response.headers.get('WWW-Authenticate')?.includes('resource_metadata'), false)
  await response.body?.cancel()
})

Deno.test('resourceMetadata not set: GET without credentials -> 401 with the bare challenge', async () => {
  const response = await get(app(), {})
  assertEquals(response.status, 401)
  assertEquals(response.headers.get('WWW-Authenticate'), 'Bearer realm="edge-auth"')
  await response.body?.cancel()
})
