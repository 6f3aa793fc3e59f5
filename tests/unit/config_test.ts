import { assertEquals, assertThrows } from '@std/assert'
import {
  ConfigError,
  loadConfig,
  type RequiredSetting,
} from '../../functions/_shared/core/config.ts'

function envOf(vars: Record<string, string>) {
  return { get: (name: string) => vars[name] }
}

Deno.test('loadConfig() derives issuer and JWKS URL from SUPABASE_URL', () => {
  const config = loadConfig(envOf({ SUPABASE_URL: 'https://abc.supabase.co' }))
  assertEquals(config.issuer, 'https://abc.supabase.co/auth/v1')
  assertEquals(config.audience, 'authenticated')
  assertEquals(config.inlineKeys, [])
  assertEquals(config.jwksUrl.href, 'https://abc.supabase.co/auth/v1/.well-known/jwks.json')
  assertEquals(config.algorithms, ['ES256', 'RS256', 'EdDSA'])
  assertEquals(Object.isFrozen(config), true)
})

Deno.test('loadConfig() keeps an overridden issuer (functions serve: internal URL, public issuer)', () => {
  const config = loadConfig(envOf({
    SUPABASE_URL: 'http://kong:8000',
    EDGE_AUTH_JWT_ISSUER: 'http://127.0.0.1:54321/auth/v1',
  }))
  assertEquals(config.issuer, 'http://127.0.0.1:54321/auth/v1')
  assertEquals(config.jwksUrl.href, 'http://kong:8000/auth/v1/.well-known/jwks.json')
})

Deno.test('J13 loadConfig() refuses plain http: SUPABASE_URL or EDGE_AUTH_JWKS_URL to a host with a dot, by literal host name; loopback, single-label Docker hosts and https start', () => {
  for (
    const url of [
      'http://example.com',
      'http://10.0.0.5:8000',
      'http://0.0.0.0:54321',
      'http://127.0.0.1.nip.io:54321',
      'http://kong.:8000',
      'https://u:p@host.example',
    ]
  ) {
    const error = assertThrows(() => loadConfig(envOf({ SUPABASE_URL: url })), ConfigError)
    assertEquals((error as ConfigError).variable, 'SUPABASE_URL')
    // The message names the variable and the reason, never the value.
    assertEquals(error.message.includes(url), false)
    const jwksUrl = { SUPABASE_URL: 'https://abcd.supabase.co', EDGE_AUTH_JWKS_URL: url }
    const jwksError = assertThrows(() => loadConfig(envOf(jwksUrl)), ConfigError)
    assertEquals((jwksError as ConfigError).variable, 'EDGE_AUTH_JWKS_URL')
  }
  for (
    const url of [
      'http://127.0.0.1:54321',
      'http://localhost:54321',
      'http://[::1]:54321',
      'http://kong:8000',
    ]
  ) {
    assertEquals(loadConfig(envOf({ SUPABASE_URL: url })).supabaseUrl.protocol, 'http:')
  }
})

Deno.test('loadConfig() reads the old SUPABASE_JWT_* and SUPABASE_JWKS_URL names as deprecated aliases of EDGE_AUTH_*, the new name winning', () => {
  const config = loadConfig(envOf({
    SUPABASE_URL: 'https://abc.supabase.co',
    SUPABASE_JWT_ISSUER: 'https://old.example/auth/v1',
    SUPABASE_JWT_AUDIENCE: 'old-audience',
    SUPABASE_JWKS_URL: 'https://old.example/jwks',
    EDGE_AUTH_JWT_AUDIENCE: 'new-audience',
  }))
  assertEquals(config.issuer, 'https://old.example/auth/v1')
  assertEquals(config.audience, 'new-audience')
  assertEquals(config.jwksUrl.href, 'https://old.example/jwks')
  const error = assertThrows(
    () => loadConfig(envOf({ SUPABASE_URL: 'https://a.supabase.co', SUPABASE_JWT_SECRET: 'x' })),
    ConfigError,
  )
  assertEquals((error as ConfigError).variable, 'EDGE_AUTH_JWT_SECRET')
})

Deno.test('loadConfig() keeps an injected SUPABASE_JWKS as given (set or array); one that is not a set leaves the JWKS URL alone', () => {
  const pub = { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k1' }
  const oct = { kty: 'oct', k: 'c2VjcmV0' }
  const base = { SUPABASE_URL: 'https://abc.supabase.co' }
  const of = (jwks: string) => loadConfig(envOf({ ...base, SUPABASE_JWKS: jwks })).inlineKeys
  assertEquals(of(JSON.stringify({ keys: [pub, oct] })), [pub, oct])
  assertEquals(of(JSON.stringify([pub])), [pub])
  for (const bad of ['{', '{"keys":{}}', '"text"', 'null']) assertEquals(of(bad), [])
})

Deno.test('loadConfig() API keys: the plural JSON maps first, then the singular keys, then the legacy JWT keys, each as default', () => {
  const base = { SUPABASE_URL: 'https://abc.supabase.co' }
  const both = loadConfig(envOf({
    ...base,
    SUPABASE_PUBLISHABLE_KEYS: '{"default":"sb_publishable_a","web":"sb_publishable_w"}',
    SUPABASE_SECRET_KEYS: '{"default":"sb_secret_a"}',
    SUPABASE_PUBLISHABLE_KEY: 'sb_publishable_single',
    SUPABASE_ANON_KEY: 'legacy-anon',
    SUPABASE_SERVICE_ROLE_KEY: 'legacy-service',
  }))
  assertEquals(both.apiKeys, {
    publishable: { default: 'sb_publishable_a', web: 'sb_publishable_w' },
    secret: { default: 'sb_secret_a' },
  })
  assertEquals([both.publishableKey, both.secretKey], ['sb_publishable_a', 'sb_secret_a'])
  const single = loadConfig(envOf({
    ...base,
    SUPABASE_PUBLISHABLE_KEY: 'sb_publishable_single',
    SUPABASE_SECRET_KEY: 'sb_secret_single',
    SUPABASE_ANON_KEY: 'legacy-anon',
  }))
  assertEquals([single.publishableKey, single.secretKey], [
    'sb_publishable_single',
    'sb_secret_single',
  ])
  const legacy = loadConfig(envOf({
    ...base,
    SUPABASE_ANON_KEY: 'legacy-anon',
    SUPABASE_SERVICE_ROLE_KEY: 'legacy-service',
  }))
  assertEquals([legacy.publishableKey, legacy.secretKey], ['legacy-anon', 'legacy-service'])
  const named = loadConfig(envOf({
    ...base,
    SUPABASE_PUBLISHABLE_KEYS: '{"default":"sb_publishable_a","web":"sb_publishable_w"}',
    EDGE_AUTH_PUBLISHABLE_KEY_NAME: 'web',
  }))
  assertEquals(named.publishableKey, 'sb_publishable_w')
  assertEquals(loadConfig(envOf(base)).apiKeys, { publishable: {}, secret: {} })
})

Deno.test('loadConfig() a malformed key map, a missing key or a key name the project lacks -> ConfigError naming the variable, never the value', () => {
  const base = { SUPABASE_URL: 'https://abc.supabase.co' }
  const secretValue = 'sb_secret_do_not_print_me'
  const cases: [Record<string, string>, string, RequiredSetting[]][] = [
    [{ SUPABASE_SECRET_KEYS: `{"default":"${secretValue}"` }, 'SUPABASE_SECRET_KEYS', []],
    [{ SUPABASE_SECRET_KEYS: `["${secretValue}"]` }, 'SUPABASE_SECRET_KEYS', []],
    [{ SUPABASE_PUBLISHABLE_KEYS: '{"default":42}' }, 'SUPABASE_PUBLISHABLE_KEYS', []],
    [{}, 'SUPABASE_PUBLISHABLE_KEYS', ['publishableKey']],
    [{}, 'SUPABASE_SECRET_KEYS', ['secretKey']],
    [
      { SUPABASE_SECRET_KEYS: `{"default":"${secretValue}"}`, EDGE_AUTH_SECRET_KEY_NAME: 'ops' },
      'EDGE_AUTH_SECRET_KEY_NAME',
      ['secretKey'],
    ],
    [
      { SUPABASE_PUBLISHABLE_KEYS: '{"default":"k"}', EDGE_AUTH_PUBLISHABLE_KEY_NAME: 'toString' },
      'EDGE_AUTH_PUBLISHABLE_KEY_NAME',
      ['publishableKey'],
    ],
  ]
  for (const [vars, variable, require] of cases) {
    const error = assertThrows(
      () => loadConfig(envOf({ ...base, ...vars }), { require }),
      ConfigError,
    )
    assertEquals((error as ConfigError).variable, variable)
    assertEquals(error.message.includes(secretValue), false)
  }
})

Deno.test('loadConfig() validates numbers, algorithms, origins and required settings', () => {
  const base = { SUPABASE_URL: 'https://abc.supabase.co' }
  const cases: [Record<string, string>, string][] = [
    [{ EDGE_AUTH_TOKEN_CACHE_SIZE: 'ten' }, 'EDGE_AUTH_TOKEN_CACHE_SIZE'],
    [{ EDGE_AUTH_CLOCK_TOLERANCE_SECONDS: '3601' }, 'EDGE_AUTH_CLOCK_TOLERANCE_SECONDS'],
    [{ EDGE_AUTH_ALGORITHMS: 'ES256,HS256' }, 'EDGE_AUTH_ALGORITHMS'],
    [{ EDGE_AUTH_CORS_ORIGINS: 'https://app.example.com/path' }, 'EDGE_AUTH_CORS_ORIGINS'],
    [{ EDGE_AUTH_JWT_SECRET: 'short' }, 'EDGE_AUTH_JWT_SECRET'],
    [{ SUPABASE_DB_URL: 'mysql://x' }, 'SUPABASE_DB_URL'],
  ]
  for (const [vars, variable] of cases) {
    const error = assertThrows(() => loadConfig(envOf({ ...base, ...vars })), ConfigError)
    assertEquals((error as ConfigError).variable, variable)
  }
  const missing = assertThrows(() => loadConfig(envOf(base), { require: ['dbUrl'] }), ConfigError)
  assertEquals((missing as ConfigError).variable, 'SUPABASE_DB_URL')
  assertThrows(() => loadConfig(envOf({})), ConfigError, 'SUPABASE_URL is required')
  const origins = loadConfig(
    envOf({ ...base, EDGE_AUTH_CORS_ORIGINS: 'https://a.example, http://127.0.0.1:3000' }),
  )
  assertEquals(origins.corsOrigins, ['https://a.example', 'http://127.0.0.1:3000'])
})
