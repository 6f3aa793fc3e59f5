// Each part of the package takes its own small options object, validated when built: a bad option
// is a TypeError naming the component and the option, never its value. `authFromEnv` is the
// boot-safe convenience: a bad variable is logged once by name and every call answers 500
// `server_misconfigured`, so a plain Hono app using it still boots and renders that answer.
import { assert, assertEquals, assertThrows } from '@std/assert'
import { Hono } from 'hono'
import {
  authFromEnv,
  createApiKeyCheck,
  createAuth,
  createKeySource,
  createSessionCheck,
  createVerifier,
  fromEnv,
} from '../../functions/_shared/mod.ts'
import { type AuthEnv, requireUser } from '../../functions/_shared/hono/adapter.ts'
import { assertAuthError } from '../_helpers/assert_auth.ts'
import { ManualClock } from '../_helpers/jwks_server.ts'
import { claims, generateKeyPair, jwksOf, sign } from '../_helpers/keys.ts'

const key = await generateKeyPair('ES256')
const ISSUER = 'https://abc.supabase.co/auth/v1'
const keys = createKeySource({ jwks: jwksOf(key) })
const live = () => Promise.resolve('live' as const)

/** Asserts `build` throws a TypeError naming `owner: option`, and not the bad value. */
function assertBadOption(build: () => unknown, owner: string, option: string, value?: string) {
  const error = assertThrows(build, TypeError)
  assert(error.message.startsWith(`${owner}: ${option} must`), error.message)
  if (value !== undefined) assert(!error.message.includes(value), 'the value is not echoed')
}

Deno.test('createKeySource: generated bad options -> TypeError naming the option; none of jwks and jwksUrl -> jwksUrl', () => {
  assertBadOption(() => createKeySource({}), 'createKeySource', 'jwksUrl')
  assertBadOption(
    () => createKeySource({ jwksUrl: 'ftp://keys.example/jwks' }),
    'createKeySource',
    'jwksUrl',
  )
  assertBadOption(
    () => createKeySource({ jwksUrl: 'https://user:pw@keys.example/jwks' }),
    'createKeySource',
    'jwksUrl',
    'pw',
  )
  assertBadOption(
    () => createKeySource({ jwks: 'x' as never }),
    'createKeySource',
    'jwks',
  )
  for (const algorithms of [[], ['HS256'], ['ES256', 'none']]) {
    assertBadOption(
      () => createKeySource({ jwks: jwksOf(key), algorithms }),
      'createKeySource',
      'algorithms',
    )
  }
  const bounds = {
    timeoutMs: [99, 30_001],
    cooldownMs: [-1, 3_600_001],
    cacheMaxAgeMs: [999, 86_400_001],
    staleMaxMs: [-1, 86_400_001],
  } as const
  for (const [option, [low, high]] of Object.entries(bounds)) {
    for (const value of [low, high, 1.5, Number.NaN]) {
      assertBadOption(
        () => createKeySource({ jwks: jwksOf(key), [option]: value }),
        'createKeySource',
        option,
      )
    }
  }
})

Deno.test('createVerifier: generated bad options -> TypeError naming the option, never the secret', () => {
  for (const issuer of ['', 'abc', undefined]) {
    assertBadOption(
      () => createVerifier({ issuer: issuer as string, keys }),
      'createVerifier',
      'issuer',
    )
  }
  assertBadOption(
    () => createVerifier({ issuer: ISSUER, keys: {} as never }),
    'createVerifier',
    'keys',
  )
  const short = 'too-short-secret-31-characters!'
  assertBadOption(
    () => createVerifier({ issuer: ISSUER, keys, legacySecret: short }),
    'createVerifier',
    'legacySecret',
    short,
  )
  const bounds = {
    clockToleranceSeconds: [-1, 301],
    maxTokenAgeSeconds: [0, 604_801],
    cacheSize: [-1, 1_000_001],
    cacheBytes: [-1, 1024 ** 3 + 1],
  } as const
  for (const [option, [low, high]] of Object.entries(bounds)) {
    for (const value of [low, high, 0.5]) {
      assertBadOption(
        () => createVerifier({ issuer: ISSUER, keys, [option]: value }),
        'createVerifier',
        option,
      )
    }
  }
})

Deno.test('createSessionCheck, createApiKeyCheck, createAuth: bad options -> TypeError naming the option', () => {
  assertBadOption(() => createSessionCheck({}), 'createSessionCheck', 'sql')
  assertBadOption(() => createSessionCheck({ store: 'x' as never }), 'createSessionCheck', 'store')
  for (const [option, value] of [['ttlMs', 60_001], ['size', 0], ['timeoutMs', 99]] as const) {
    assertBadOption(
      () => createSessionCheck({ store: live, [option]: value }),
      'createSessionCheck',
      option,
    )
  }
  assertBadOption(
    () => createApiKeyCheck({ secret: { default: '' } }),
    'createApiKeyCheck',
    'secret',
  )
  assertBadOption(
    () => createApiKeyCheck({ publishable: ['k'] as never }),
    'createApiKeyCheck',
    'publishable',
  )
  assertBadOption(() => createAuth({} as never), 'createAuth', 'verifier')
  const verifier = createVerifier({ issuer: ISSUER, keys })
  assertBadOption(() => createAuth({ verifier, sessions: {} as never }), 'createAuth', 'sessions')
})

Deno.test('createAuth without a session check: a token-only route 200, a session-check route 500 server_misconfigured, auth.database() a ConfigError', async () => {
  const clock = new ManualClock()
  const auth = createAuth({ verifier: createVerifier({ issuer: ISSUER, keys, clock }), clock })
  const app = new Hono<AuthEnv>()
  app.get('/token', requireUser(auth, { session: 'token' }), (c) => c.json(c.var.auth.user.id))
  app.get('/check', requireUser(auth, { session: 'check' }), (c) => c.json(c.var.auth.user.id))
  const c = claims({ iss: ISSUER }, clock.now())
  const headers = { Authorization: `Bearer ${await sign(key, c)}` }
  const ok = await app.request('/token', { headers })
  assertEquals([ok.status, await ok.json()], [200, c.sub])
  const refused = await app.request('/check', { headers })
  assertEquals(refused.status, 500)
  await refused.body?.cancel()
  assertThrows(() => auth.database(), Error, 'SUPABASE_DB_URL')
  auth.warmUp()
  await auth.close()
})

Deno.test("fromEnv maps the variables to each component's options, defaults as loadConfig's", () => {
  const env = {
    SUPABASE_URL: 'https://abc.supabase.co',
    SUPABASE_DB_URL: 'postgres://u@127.0.0.1:1/db',
    EDGE_AUTH_SESSION_CACHE_TTL_MS: '250',
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: 'sb_secret_x' }),
  } as Record<string, string>
  const options = fromEnv({ get: (name) => env[name] })
  assertEquals(options.verifier.issuer, ISSUER)
  assertEquals(options.verifier.audience, 'authenticated')
  assertEquals(options.keys.jwksUrl?.toString(), `${ISSUER}/.well-known/jwks.json`)
  assertEquals(options.sessions?.ttlMs, 250)
  assertEquals(options.sessions?.timeoutMs, 1_500)
  assertEquals(options.apiKeys.secret, { default: 'sb_secret_x' })
  assert(options.sessions?.sql !== undefined, 'a client for SUPABASE_DB_URL, not yet connected')
  const bare = fromEnv({ get: (name) => name === 'SUPABASE_URL' ? env[name] : undefined })
  assertEquals(bare.sessions, undefined)
})

const BAD_ENVS: [string, Record<string, string>, string][] = [
  ['SUPABASE_URL', {}, 'missing'],
  ['SUPABASE_URL', { SUPABASE_URL: 'http://abc.supabase.co' }, 'plain http'],
  ['EDGE_AUTH_JWT_SECRET', {
    SUPABASE_URL: 'https://a.supabase.co',
    EDGE_AUTH_JWT_SECRET: 'short',
  }, 'too short'],
  [
    'EDGE_AUTH_SESSION_CACHE_TTL_MS',
    { SUPABASE_URL: 'https://a.supabase.co', EDGE_AUTH_SESSION_CACHE_TTL_MS: 'soon' },
    'not a number',
  ],
  ['SUPABASE_DB_URL', { SUPABASE_URL: 'https://a.supabase.co' }, 'missing but required'],
]

for (const [variable, env, fault] of BAD_ENVS) {
  Deno.test(`authFromEnv with ${variable} ${fault} -> a plain Hono app still boots, every request 500 server_misconfigured, the variable named once in the log, never its value`, async () => {
    const lines: string[] = []
    const original = console.error
    console.error = (...args: unknown[]) => lines.push(args.join(' '))
    try {
      const auth = authFromEnv({ get: (name) => env[name] }, { require: ['dbUrl'] })
      const app = new Hono<AuthEnv>()
      app.use('/api/*', requireUser(auth, { session: 'check' }))
      app.get('/api/me', (c) => c.json({ id: c.var.auth.user.id }))
      const token = await sign(key, claims())
      for (
        const headers of [{}, { Authorization: `Bearer ${token}` }] as Record<string, string>[]
      ) {
        const response = await app.request('/api/me', { headers })
        assertEquals(response.status, 500)
        assertEquals(await response.json(), {
          error: 'server_misconfigured',
          error_description: 'Server misconfigured',
        })
      }
      for (const call of [() => auth.verify(token), () => auth.keysReady()]) {
        const error = await call().then(() => undefined, (e) => e)
        assertEquals((error as { status?: number }).status, 500)
      }
    } finally {
      console.error = original
    }
    assertEquals(lines.length, 1, lines.join('\n'))
    assert(lines[0]!.includes(variable), lines[0])
    for (const value of Object.values(env)) assert(!lines[0]!.includes(value), 'no value logged')
  })
}

Deno.test('authFromEnv with a good environment -> a plain Hono app answers 401 without a token', async () => {
  const env = { SUPABASE_URL: 'https://abc.supabase.co' } as Record<string, string>
  const auth = authFromEnv({ get: (name) => env[name] })
  const app = new Hono<AuthEnv>()
  app.use('/api/*', requireUser(auth, { session: 'token' }))
  app.get('/api/me', (c) => c.json({ id: c.var.auth.user.id }))
  await assertAuthError(await app.request('/api/me'), 'NOCRED', 'missingCredentials')
})
