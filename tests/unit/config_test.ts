import { assertEquals, assertThrows } from '@std/assert'
import { ConfigError, loadConfig } from '../../functions/_shared/core/config.ts'

function envOf(vars: Record<string, string>) {
  return { get: (name: string) => vars[name] }
}

Deno.test('loadConfig() derives issuer and JWKS URL from SUPABASE_URL', () => {
  const config = loadConfig(envOf({ SUPABASE_URL: 'https://abc.supabase.co' }))
  assertEquals(config.issuer, 'https://abc.supabase.co/auth/v1')
  assertEquals(config.audience, 'authenticated')
  assertEquals(config.keySource.kind, 'remote')
  if (config.keySource.kind === 'remote') {
    assertEquals(config.keySource.url.href, 'https://abc.supabase.co/auth/v1/.well-known/jwks.json')
  }
  assertEquals(config.algorithms, ['ES256', 'RS256', 'EdDSA'])
  assertEquals(Object.isFrozen(config), true)
})

Deno.test('loadConfig() keeps an overridden issuer (functions serve: internal URL, public issuer)', () => {
  const config = loadConfig(envOf({
    SUPABASE_URL: 'http://127.0.0.1:54321',
    SUPABASE_JWT_ISSUER: 'http://127.0.0.1:54321/auth/v1',
  }))
  assertEquals(config.issuer, 'http://127.0.0.1:54321/auth/v1')
})

Deno.test('J13 loadConfig() refuses plain http: SUPABASE_URL or SUPABASE_JWKS_URL off loopback, by literal host name; loopback and https start', () => {
  for (
    const url of [
      'http://example.com',
      'http://10.0.0.5:8000',
      'http://0.0.0.0:54321',
      'http://127.0.0.1.nip.io:54321',
      'https://u:p@host.example',
    ]
  ) {
    const error = assertThrows(() => loadConfig(envOf({ SUPABASE_URL: url })), ConfigError)
    assertEquals((error as ConfigError).variable, 'SUPABASE_URL')
    // The message names the variable and the reason, never the value.
    assertEquals(error.message.includes(url), false)
    const jwksUrl = { SUPABASE_URL: 'https://abcd.supabase.co', SUPABASE_JWKS_URL: url }
    assertThrows(() => loadConfig(envOf(jwksUrl)), ConfigError)
  }
  for (const url of ['http://127.0.0.1:54321', 'http://localhost:54321', 'http://[::1]:54321']) {
    assertEquals(loadConfig(envOf({ SUPABASE_URL: url })).supabaseUrl.protocol, 'http:')
  }
  for (const url of ['https://abcd.supabase.co', 'http://127.0.0.1:54321']) {
    assertEquals(loadConfig(envOf({ SUPABASE_URL: url })).keySource.kind, 'remote')
  }
})

Deno.test('loadConfig() refuses an http: SUPABASE_JWKS_URL off loopback', () => {
  const error = assertThrows(
    () =>
      loadConfig(
        envOf({
          SUPABASE_URL: 'https://abc.supabase.co',
          SUPABASE_JWKS_URL: 'http://evil.example/jwks',
        }),
      ),
    ConfigError,
  )
  assertEquals((error as ConfigError).variable, 'SUPABASE_JWKS_URL')
})

Deno.test('loadConfig() accepts inline SUPABASE_JWKS as a set or an array, refuses private or secret keys', () => {
  const pub = { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k1' }
  const base = { SUPABASE_URL: 'https://abc.supabase.co' }
  assertEquals(
    loadConfig(envOf({ ...base, SUPABASE_JWKS: JSON.stringify({ keys: [pub] }) })).keySource.kind,
    'inline',
  )
  assertEquals(
    loadConfig(envOf({ ...base, SUPABASE_JWKS: JSON.stringify([pub]) })).keySource.kind,
    'inline',
  )
  for (
    const bad of [
      '{',
      '{"keys":[]}',
      JSON.stringify([{ ...pub, d: 'secret' }]),
      JSON.stringify([{ kty: 'oct', k: 'x' }]),
    ]
  ) {
    const error = assertThrows(
      () => loadConfig(envOf({ ...base, SUPABASE_JWKS: bad })),
      ConfigError,
    )
    assertEquals((error as ConfigError).variable, 'SUPABASE_JWKS')
  }
})

Deno.test('loadConfig() validates numbers, algorithms, origins and required settings', () => {
  const base = { SUPABASE_URL: 'https://abc.supabase.co' }
  const cases: [Record<string, string>, string][] = [
    [{ EDGE_AUTH_TOKEN_CACHE_SIZE: 'ten' }, 'EDGE_AUTH_TOKEN_CACHE_SIZE'],
    [{ EDGE_AUTH_CLOCK_TOLERANCE_SECONDS: '3601' }, 'EDGE_AUTH_CLOCK_TOLERANCE_SECONDS'],
    [{ EDGE_AUTH_ALGORITHMS: 'ES256,HS256' }, 'EDGE_AUTH_ALGORITHMS'],
    [{ EDGE_AUTH_CORS_ORIGINS: 'https://app.example.com/path' }, 'EDGE_AUTH_CORS_ORIGINS'],
    [{ SUPABASE_JWT_SECRET: 'short' }, 'SUPABASE_JWT_SECRET'],
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
