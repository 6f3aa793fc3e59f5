// API keys as credentials, without a stack: the constant-time comparison, which configured key a
// route accepts (`default`, a named key, `'*'`), and the order rules of a route that takes several
// kinds of credential (a bearer that is present but invalid never falls through; an API key in the
// bearer slot is not a user credential), driven through `app.request()`.
import { assert, assertEquals, assertRejects } from '@std/assert'
import { createApiKeyMatcher } from '../../functions/_shared/auth/api_keys.ts'
import { isApiKeyToken } from '../../functions/_shared/tokens/api_key_token.ts'
import { timingSafeEqual } from '../../functions/_shared/core/timing_safe.ts'
import { type AcceptedCredential } from '../../functions/_shared/auth/authenticate.ts'
import { authFromConfig } from '../../functions/_shared/auth/from_env.ts'
import { ConfigError } from '../../functions/_shared/core/config.ts'
import type { SessionStore } from '../../functions/_shared/core/deps.ts'
import { DESCRIPTIONS, REALM } from '../../functions/_shared/core/errors.ts'
import {
  createFunctionApp,
  type CredentialEnv,
  requireCredentials,
} from '../../functions/_shared/hono/adapter.ts'
import { assertAuthError, assertNoEcho, credentialBody } from '../_helpers/assert_auth.ts'
import { testConfig } from '../_helpers/jwks_server.ts'
import { quietly } from '../_helpers/quietly.ts'
import { claims, generateKeyPair, ISSUER, jwksOf, sign } from '../_helpers/keys.ts'

const SECRET = 'sb_secret_default_0123456789abcdefghij'
const CRON = 'sb_secret_cron_abcdefghij0123456789xyz'
const PUBLISHABLE = 'sb_publishable_default_0123456789abcd'
const KEYS = [SECRET, CRON, PUBLISHABLE]

const key = await generateKeyPair('ES256')
const revokedSession = crypto.randomUUID()
const sessionStore: SessionStore = (sessionId) =>
  Promise.resolve(sessionId === revokedSession ? 'gone' : 'live')
const config = testConfig({
  EDGE_AUTH_JWT_ISSUER: ISSUER,
  SUPABASE_JWKS: JSON.stringify(jwksOf(key)),
  SUPABASE_SECRET_KEYS: JSON.stringify({ default: SECRET, cron: CRON }),
  SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: PUBLISHABLE }),
})
const auth = authFromConfig(config, { sessionStore })

/** One route per accepted list, each answering the credential it got. */
function credentialApp() {
  const app = createFunctionApp<CredentialEnv>('api', { corsOrigins: '*', methods: ['GET'] })
  const routes: Record<string, AcceptedCredential[]> = {
    '/user-or-secret': ['user', 'secret'],
    '/secret': ['secret'],
    '/secret-then-user': ['secret', 'user'],
    '/cron': [{ kind: 'secret', name: 'cron' }],
    '/any-secret': [{ kind: 'secret', name: '*' }],
    '/publishable': ['publishable'],
    '/any-key': ['publishable', 'secret'],
    '/missing-name': [{ kind: 'secret', name: 'absent' }],
  }
  for (const [path, accepted] of Object.entries(routes)) {
    app.get(path, requireCredentials(auth, accepted), (c) => {
      return c.json(credentialBody(c.var.credential))
    })
  }
  return app
}
const app = credentialApp()

function call(path: string, headers: Record<string, string>): Promise<Response> {
  return Promise.resolve(app.request(`/api${path}`, { headers }))
}

/** Asserts a 200 naming the credential, with no key echoed. */
async function assertAccepted(response: Response, expected: Record<string, string>) {
  await assertNoEcho(response, KEYS)
  const text = await response.text()
  assertEquals(response.status, 200, text)
  assertEquals(JSON.parse(text), expected)
  assertEquals(response.headers.get('WWW-Authenticate'), null)
}

/** Asserts 401 invalid_api_key with its fixed description and challenge, no key echoed. */
async function assertInvalidApiKey(
  response: Response,
  description: 'secretKeyRequired' | 'publishableKeyRequired' | 'apiKeyRequired',
  bearerChallenge: boolean,
  secrets: string[] = [],
) {
  await assertNoEcho(response, [...KEYS, ...secrets])
  const text = await response.text()
  assertEquals(response.status, 401, text)
  assertEquals(JSON.parse(text), {
    error: 'invalid_api_key',
    error_description: DESCRIPTIONS[description],
  })
  assertEquals(response.headers.get('Content-Type'), 'application/json')
  assertEquals(response.headers.get('Cache-Control'), 'no-store')
  assertEquals(
    response.headers.get('WWW-Authenticate'),
    bearerChallenge ? `Bearer realm="${REALM}"` : null,
  )
}

const userClaims = claims()
const userToken = await sign(key, userClaims)
// What the Supabase CLI's gateway sends on for an `apikey` equal to the secret key.
const serviceRoleJwt = await sign(key, {
  iss: 'supabase-demo',
  role: 'service_role',
  iat: Math.floor(Date.now() / 1000),
  exp: Math.floor(Date.now() / 1000) + 3600,
})

Deno.test('timingSafeEqual: equal bytes -> true; one bit, one byte or the length different -> false', () => {
  const a = new Uint8Array(32).fill(7)
  assert(timingSafeEqual(a, a.slice()))
  for (const at of [0, 15, 31]) {
    const b = a.slice()
    b[at]! ^= 1
    assert(!timingSafeEqual(a, b), `bit flipped at ${at}`)
  }
  assert(!timingSafeEqual(a, a.slice(0, 31)))
  assert(timingSafeEqual(new Uint8Array(0), new Uint8Array(0)))
})

Deno.test('the matcher compares HMAC-SHA-256 digests under a random non-extractable key: one HMAC per request whatever the presented length, 32-byte digests', async () => {
  const original = crypto.subtle.sign
  const signed: { algorithm: unknown; extractable: boolean; length: number; out: number }[] = []
  const hmacKeys = new Set<CryptoKey>()
  crypto.subtle.sign = async function (algorithm, cryptoKey, data) {
    const out = await original.call(crypto.subtle, algorithm, cryptoKey, data)
    hmacKeys.add(cryptoKey)
    const length = (data as Uint8Array).byteLength
    signed.push({ algorithm, extractable: cryptoKey.extractable, length, out: out.byteLength })
    return out
  }
  try {
    const matcher = createApiKeyMatcher(config.apiKeys)
    const other = createApiKeyMatcher(config.apiKeys)
    const request = (apikey: string) => new Request('http://x/', { headers: { apikey } })
    // The three configured keys are digested once, on first use.
    assertEquals(await matcher.match(request(SECRET), { kind: 'secret' }), 'default')
    assertEquals(signed.length, 3 + 1)
    for (const presented of ['', 's', SECRET.slice(0, -1), `${SECRET}x`, 'x'.repeat(4096)]) {
      signed.length = 0
      assertEquals(await matcher.match(request(presented), { kind: 'secret' }), undefined)
      assertEquals(signed.length, 1, 'one HMAC of the presented key, none of the configured ones')
      assertEquals(signed[0]!.length, new TextEncoder().encode(presented).length)
    }
    await other.match(request(SECRET), { kind: 'secret' })
    assertEquals(hmacKeys.size, 2, 'each matcher has its own HMAC key')
    for (const call of signed) {
      assertEquals(call.algorithm, 'HMAC')
      assertEquals(call.extractable, false)
      assertEquals(call.out, 32)
    }
  } finally {
    crypto.subtle.sign = original
  }
})

Deno.test('key names: a bare kind matches only `default`, a name only that key, `*` any key of the kind and says which; a publishable key never matches secret', async () => {
  const matcher = createApiKeyMatcher(config.apiKeys)
  const request = (apikey?: string) =>
    new Request('http://x/', { headers: apikey === undefined ? {} : { apikey } })
  assertEquals(await matcher.match(request(SECRET), { kind: 'secret' }), 'default')
  assertEquals(await matcher.match(request(CRON), { kind: 'secret' }), undefined)
  assertEquals(await matcher.match(request(CRON), { kind: 'secret', name: 'cron' }), 'cron')
  assertEquals(await matcher.match(request(SECRET), { kind: 'secret', name: 'cron' }), undefined)
  assertEquals(await matcher.match(request(SECRET), { kind: 'secret', name: '*' }), 'default')
  assertEquals(await matcher.match(request(CRON), { kind: 'secret', name: '*' }), 'cron')
  assertEquals(await matcher.match(request(PUBLISHABLE), { kind: 'secret', name: '*' }), undefined)
  assertEquals(await matcher.match(request(SECRET), { kind: 'publishable' }), undefined)
  assertEquals(await matcher.match(request(PUBLISHABLE), { kind: 'publishable' }), 'default')
  assertEquals(await matcher.match(request(), { kind: 'secret' }), undefined)
  // Headers drop surrounding whitespace before anyone sees the value.
  assertEquals(await matcher.match(request(` ${SECRET} `), { kind: 'secret' }), 'default')
  assertEquals(await matcher.match(request(`${SECRET}, ${SECRET}`), { kind: 'secret' }), undefined)
})

Deno.test('a requirement naming a key the configuration lacks -> ConfigError naming the variable, not a 401', async () => {
  const matcher = createApiKeyMatcher(config.apiKeys)
  const request = new Request('http://x/', { headers: { apikey: SECRET } })
  const error = await assertRejects(
    () => matcher.match(request, { kind: 'secret', name: 'absent' }),
    ConfigError,
  )
  assertEquals((error as ConfigError).variable, 'SUPABASE_SECRET_KEYS')
  const none = createApiKeyMatcher({ secret: {}, publishable: {} })
  await assertRejects(() => none.match(request, { kind: 'publishable', name: '*' }), ConfigError)
  // The adapter logs the variable at fault on every such request: noise here.
  const response = await quietly(() => call('/missing-name', { apikey: SECRET }))
  await assertNoEcho(response, KEYS)
  assertEquals(response.status, 500)
  assertEquals((await response.json()).error, 'server_misconfigured')
})

Deno.test('isApiKeyToken: sb_… and role-only anon/service_role JWTs -> true; user tokens and other strings -> false', async () => {
  assert(isApiKeyToken(SECRET))
  assert(isApiKeyToken(PUBLISHABLE))
  assert(isApiKeyToken(serviceRoleJwt))
  assert(isApiKeyToken(await sign(key, { role: 'anon', iss: 'supabase-demo' })))
  assert(!isApiKeyToken(userToken))
  // A role claim alone does not make a user's token an API key.
  assert(!isApiKeyToken(await sign(key, claims({ role: 'service_role' }))))
  assert(!isApiKeyToken('not-a-jwt'))
  assert(!isApiKeyToken(''))
})

Deno.test('[user, secret]: a valid user token -> user; only the secret key in apikey -> secret "default"; a valid token with the secret key -> user (first in order)', async () => {
  await assertAccepted(await call('/user-or-secret', { Authorization: `Bearer ${userToken}` }), {
    kind: 'user',
    user: userClaims.sub as string,
  })
  await assertAccepted(await call('/user-or-secret', { apikey: SECRET }), {
    kind: 'secret',
    name: 'default',
  })
  await assertAccepted(
    await call('/user-or-secret', { Authorization: `Bearer ${userToken}`, apikey: SECRET }),
    { kind: 'user', user: userClaims.sub as string },
  )
})

Deno.test('[user, secret]: an invalid, expired or revoked bearer with a valid secret key -> 401 invalid_token, never a fall-through to the key', async () => {
  const now = Math.floor(Date.now() / 1000)
  const cases = [
    [`${userToken.slice(0, -4)}AAAA`, 'badSignature'],
    [await sign(key, claims({ iat: now - 7200, exp: now - 3600 })), 'tokenExpired'],
    [await sign(key, claims({ session_id: revokedSession })), 'sessionRevoked'],
    ['not.a.token', 'malformedToken'],
  ] as const
  for (const [token, description] of cases) {
    const response = await call('/user-or-secret', {
      Authorization: `Bearer ${token}`,
      apikey: SECRET,
    })
    await assertAuthError(response, 'BADTOKEN', description, [token, ...KEYS])
  }
  // A malformed Authorization header is the request's fault, whatever the key.
  const malformed = await call('/user-or-secret', { Authorization: 'Bearer a b', apikey: SECRET })
  await assertAuthError(malformed, 'BADREQ', 'malformedHeader', KEYS)
})

Deno.test("[user, secret]: an API key as bearer (a gateway's service_role JWT, Bearer sb_…) is not a user credential -> the apikey decides: secret, or 401 invalid_api_key", async () => {
  for (const bearer of [serviceRoleJwt, SECRET, PUBLISHABLE]) {
    await assertAccepted(
      await call('/user-or-secret', { Authorization: `Bearer ${bearer}`, apikey: SECRET }),
      { kind: 'secret', name: 'default' },
    )
    await assertInvalidApiKey(
      await call('/user-or-secret', { Authorization: `Bearer ${bearer}` }),
      'secretKeyRequired',
      true,
      [serviceRoleJwt],
    )
  }
})

Deno.test('[user, secret]: nothing, the publishable key, a wrong key -> 401 invalid_api_key "secret key", bare Bearer challenge; a key in the query -> 400 naming apikey, the key not echoed', async () => {
  for (
    const [path, headers] of [
      ['/user-or-secret', {}],
      ['/user-or-secret', { apikey: PUBLISHABLE }],
      ['/user-or-secret', { apikey: `${SECRET}x` }],
      ['/user-or-secret', { apikey: SECRET.toUpperCase() }],
      ['/user-or-secret', { Authorization: `Basic ${btoa(`x:${SECRET}`)}` }],
    ] as const
  ) {
    await assertInvalidApiKey(await call(path, headers), 'secretKeyRequired', true)
  }
  // The query rule refuses it before any credential is looked at: a key is never read from a URL.
  const inQuery = await call(`/user-or-secret?apikey=${SECRET}`, {})
  await assertNoEcho(inQuery, KEYS)
  assertEquals(inQuery.status, 400)
  assertEquals(await inQuery.json(), {
    error: 'invalid_request',
    error_description: `apikey: ${DESCRIPTIONS.unknownParameter}`,
  })
})

Deno.test('[secret] only: the bearer is never read -> a valid, invalid or service_role bearer with the secret key is 200 secret; a user token alone is 401 invalid_api_key without WWW-Authenticate', async () => {
  for (const bearer of [userToken, 'garbage', serviceRoleJwt]) {
    await assertAccepted(
      await call('/secret', { Authorization: `Bearer ${bearer}`, apikey: SECRET }),
      {
        kind: 'secret',
        name: 'default',
      },
    )
  }
  const refused: Record<string, string>[] = [
    { Authorization: `Bearer ${userToken}` },
    { Authorization: `Bearer ${SECRET}` },
    { apikey: PUBLISHABLE },
    { apikey: CRON },
    {},
  ]
  for (const headers of refused) {
    await assertInvalidApiKey(await call('/secret', headers), 'secretKeyRequired', false, [
      userToken,
    ])
  }
})

Deno.test('[secret, user]: the key first, then the user token; a bad bearer without the key -> 401 invalid_token', async () => {
  await assertAccepted(
    await call('/secret-then-user', { Authorization: 'Bearer x.y.z', apikey: SECRET }),
    { kind: 'secret', name: 'default' },
  )
  await assertAccepted(
    await call('/secret-then-user', { Authorization: `Bearer ${userToken}`, apikey: PUBLISHABLE }),
    { kind: 'user', user: userClaims.sub as string },
  )
  await assertAuthError(
    await call('/secret-then-user', { Authorization: 'Bearer x.y.z' }),
    'BADTOKEN',
    'malformedToken',
  )
  await assertInvalidApiKey(await call('/secret-then-user', {}), 'secretKeyRequired', true)
})

Deno.test('named keys on routes: {secret, cron} takes only the cron key, {secret, *} any secret key and names it; publishable and either-kind routes say which kind they expect', async () => {
  await assertAccepted(await call('/cron', { apikey: CRON }), { kind: 'secret', name: 'cron' })
  await assertInvalidApiKey(await call('/cron', { apikey: SECRET }), 'secretKeyRequired', false)
  await assertAccepted(await call('/any-secret', { apikey: CRON }), {
    kind: 'secret',
    name: 'cron',
  })
  await assertAccepted(await call('/any-secret', { apikey: SECRET }), {
    kind: 'secret',
    name: 'default',
  })
  await assertAccepted(await call('/publishable', { apikey: PUBLISHABLE }), {
    kind: 'publishable',
    name: 'default',
  })
  await assertInvalidApiKey(
    await call('/publishable', { apikey: SECRET }),
    'publishableKeyRequired',
    false,
  )
  await assertAccepted(await call('/any-key', { apikey: SECRET }), {
    kind: 'secret',
    name: 'default',
  })
  await assertInvalidApiKey(await call('/any-key', { apikey: CRON }), 'apiKeyRequired', false)
})

Deno.test('requireCredentials with an empty list -> TypeError at build time', () => {
  let thrown: unknown
  try {
    requireCredentials(auth, [])
  } catch (error) {
    thrown = error
  }
  assert(thrown instanceof TypeError)
})
