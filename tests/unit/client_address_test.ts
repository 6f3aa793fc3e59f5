// Which caller address `login` and `refresh` pass to the auth server's per-client rate limits. The
// real auth server never shows the headers it received, so a recording upstream stands in for it
// here; tests/hostile/brute_force_test.ts shows the buckets on the real one.
import { assertEquals } from '@std/assert'
import fc from 'fast-check'
import { callerAddress } from '../../functions/_shared/http/client_address.ts'
import { ConfigError, loadConfig } from '../../functions/_shared/core/config.ts'
import { createLoginApp } from '../../functions/login/app.ts'
import { createRefreshApp } from '../../functions/refresh/app.ts'
import { ManualClock } from '../_helpers/jwks_server.ts'
import { startLocalServer } from '../_helpers/local_server.ts'

/** Headers a caller can write to claim an address. */
const FORWARDING_HEADERS = [
  'X-Forwarded-For',
  'X-Real-IP',
  'Sb-Forwarded-For',
  'Forwarded',
  'CF-Connecting-IP',
  'True-Client-IP',
  'X-Client-IP',
]

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((parts) =>
  parts.join('.')
)
/** An address, or something that is not one (it has a character no address has). */
const entry = fc.oneof(
  ipv4.map((value) => ({ value, address: true })),
  fc.ipV6().map((value) => ({ value, address: true })),
  fc.string({ maxLength: 40 })
    .filter((value) => /^[\x20-\x7e]*$/.test(value) && /[^0-9a-fA-F:.\s,]/.test(value))
    .map((value) => ({ value, address: false })),
)
/** What a caller may put in a forwarding header: one entry or a list; `last` is the last entry. */
const claimed = fc.array(entry, { minLength: 1, maxLength: 4 }).map((entries) => ({
  value: entries.map((e) => e.value).join(', '),
  last: entries.at(-1)!,
}))
const forgedHeaders = fc.dictionary(
  fc.constantFrom(...FORWARDING_HEADERS),
  claimed.map((c) => c.value),
  { maxKeys: FORWARDING_HEADERS.length },
)

function requestWith(headers: Record<string, string>): Request {
  return new Request('http://function.local/login', { method: 'POST', headers })
}

Deno.test('callerAddress with no trusted header -> undefined, whatever forwarding headers the caller sends', () => {
  fc.assert(
    fc.property(forgedHeaders, (headers) => {
      assertEquals(callerAddress(requestWith(headers), undefined), undefined)
    }),
    { numRuns: 2000, seed: 0xadd7e55 },
  )
})

Deno.test('callerAddress with a trusted header -> its last entry when an IP literal, else undefined; other headers never count', () => {
  fc.assert(
    fc.property(forgedHeaders, claimed, (headers, trusted) => {
      const request = requestWith({ ...headers, 'X-Real-IP': trusted.value })
      const expected = trusted.last.address ? trusted.last.value : undefined
      assertEquals(callerAddress(request, 'x-real-ip'), expected)
    }),
    { numRuns: 2000, seed: 0xadd7e56 },
  )
  assertEquals(callerAddress(requestWith({ 'X-Real-IP': '256.1.1.1' }), 'x-real-ip'), undefined)
  assertEquals(callerAddress(requestWith({}), 'x-real-ip'), undefined)
})

Deno.test('EDGE_AUTH_CLIENT_ADDRESS_HEADER that is not a header name -> ConfigError naming it', () => {
  for (const value of ['X Real IP', 'x-real-ip:', 'ip\u00e9', '(x)']) {
    const vars: Record<string, string> = {
      SUPABASE_URL: 'http://127.0.0.1:1',
      EDGE_AUTH_CLIENT_ADDRESS_HEADER: value,
    }
    try {
      loadConfig({ get: (name) => vars[name] })
      throw new Error(`accepted ${JSON.stringify(value)}`)
    } catch (error) {
      assertEquals(error instanceof ConfigError, true, String(error))
      assertEquals((error as ConfigError).variable, 'EDGE_AUTH_CLIENT_ADDRESS_HEADER')
    }
  }
})

Deno.test('POST /login and /refresh pass Sb-Forwarded-For (with the secret key) only from the trusted header, never a caller-chosen one', async () => {
  const seen: { apikey: string | null; forwarded: string | null }[] = []
  const upstream = startLocalServer((request) => {
    seen.push({
      apikey: request.headers.get('apikey'),
      forwarded: request.headers.get('sb-forwarded-for'),
    })
    return Response.json({
      code: 400,
      error_code: 'invalid_credentials',
      msg: 'Invalid login credentials',
    }, { status: 400 })
  })
  const configFor = (extra: Record<string, string>) => {
    const vars: Record<string, string> = {
      SUPABASE_URL: upstream.url,
      SUPABASE_ANON_KEY: 'anon-key-for-tests',
      SUPABASE_SERVICE_ROLE_KEY: 'service-role-key-for-tests',
      ...extra,
    }
    return loadConfig({ get: (name) => vars[name] })
  }
  const untrusting = configFor({})
  const trusting = configFor({ EDGE_AUTH_CLIENT_ADDRESS_HEADER: 'X-Real-IP' })
  const apps = [
    { path: '/login', body: { email: 'a@example.com', password: 'pw-1' }, make: createLoginApp },
    { path: '/refresh', body: { refresh_token: 'abcdefgh12' }, make: createRefreshApp },
  ]
  try {
    await fc.assert(
      fc.asyncProperty(
        forgedHeaders,
        fc.boolean(),
        fc.constantFrom(...apps),
        async (headers, trust, route) => {
          seen.length = 0
          const config = trust ? trusting : untrusting
          const app = route.path === '/login'
            ? createLoginApp(config, { clock: new ManualClock() })
            : route.make(config)
          const response = await app.request(route.path, {
            method: 'POST',
            headers: { ...headers, 'Content-Type': 'application/json' },
            body: JSON.stringify(route.body),
          })
          assertEquals(response.status, 400, await response.text())
          const expected = trust ? callerAddress(requestWith(headers), 'x-real-ip') : undefined
          assertEquals(seen, [{
            apikey: expected ? 'service-role-key-for-tests' : 'anon-key-for-tests',
            forwarded: expected ?? null,
          }])
        },
      ),
      { numRuns: 300, seed: 0xadd7e57 },
    )
  } finally {
    await upstream.close()
  }
})
