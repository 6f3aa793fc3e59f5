// The verified-token cache: exact-string keys, exp re-checked on every hit with jose's tolerance
// rule, entries of departed kids dropped, bounded LRU, and nothing refused because of the string.
import { assert, assertEquals } from '@std/assert'
import { assertAuthError, assertMe } from '../_helpers/assert_auth.ts'
import { startJwksServer } from '../_helpers/jwks_server.ts'
import { claims, flipS, generateKeyPair, jwksOf, sign } from '../_helpers/keys.ts'
import { meHarness } from '../_helpers/me_harness.ts'
import { ApiError } from '../../functions/_shared/core/errors.ts'
import { createTokenCache, entryBytes } from '../../functions/_shared/tokens/token_cache.ts'
import fc from 'fast-check'

const k1 = await generateKeyPair('ES256')
const k2 = await generateKeyPair('ES256')

Deno.test('cache hit returns the same frozen identity: no decoding or signature work on a hit', async () => {
  const h = meHarness({ keys: [k1] })
  const token = await sign(k1, claims({}, h.clock.now()))
  const first = await h.auth.verify(token)
  const second = await h.auth.verify(token)
  assert(second === first, 'the cached object')
  assert(Object.isFrozen(first) && Object.isFrozen(first.user) && Object.isFrozen(first.claims))
})

Deno.test('cache disabled (EDGE_AUTH_TOKEN_CACHE_SIZE=0): every call verifies again', async () => {
  const h = meHarness({ keys: [k1], vars: { EDGE_AUTH_TOKEN_CACHE_SIZE: '0' } })
  const token = await sign(k1, claims({}, h.clock.now()))
  assert(await h.auth.verify(token) !== await h.auth.verify(token), 'a new verification')
})

Deno.test('T07 a malleable variant is a separate entry with the same claims', async () => {
  const h = meHarness({ keys: [k1] })
  const token = await sign(k1, claims({}, h.clock.now()))
  const a = await h.auth.verify(token)
  const b = await h.auth.verify(flipS(token))
  assert(a !== b, 'a new verification')
  assertEquals(a.claims, b.claims)
})

Deno.test('exp is re-checked on every hit, on the same boundary as jose (exp <= now - tolerance)', async () => {
  for (const cacheSize of ['10000', '0']) {
    const h = meHarness({ keys: [k1], vars: { EDGE_AUTH_TOKEN_CACHE_SIZE: cacheSize } })
    const c = claims({}, h.clock.now())
    const token = await sign(k1, c)
    await assertMe(await h.get(`Bearer ${token}`), token, c as never)
    const tolerance = h.config.clockToleranceSeconds
    h.clock.time = (Number(c.exp) + tolerance - 1) * 1000 + 999
    await assertMe(await h.get(`Bearer ${token}`), token, c as never)
    h.clock.time = (Number(c.exp) + tolerance) * 1000
    await assertAuthError(await h.get(`Bearer ${token}`), 'BADTOKEN', 'tokenExpired', [token])
    // An expired hit is dropped, not kept as a negative answer: a clock going back heals.
    h.clock.time = (Number(c.exp) - 10) * 1000
    await assertMe(await h.get(`Bearer ${token}`), token, c as never)
  }
})

Deno.test('a hit is not served once the key set is past its cache age: the keys refresh first', async () => {
  const server = startJwksServer(jwksOf(k1).keys)
  try {
    const h = meHarness({ vars: { SUPABASE_JWKS_URL: server.url } })
    const c = claims({ exp: Math.floor(h.clock.now() / 1000) + 7200 }, h.clock.now())
    const token = await sign(k1, c)
    const first = await h.auth.verify(token)
    assert(await h.auth.verify(token) === first, 'the cached object')
    h.clock.advance(h.config.jwksCacheMaxAgeMs)
    const again = await h.auth.verify(token)
    assert(again !== first, 'a new verification')
    assertEquals(server.count, 2)
  } finally {
    await server.close()
  }
})

Deno.test('entries of a kid that left the set are dropped when the set changes', async () => {
  const server = startJwksServer(jwksOf(k1, k2).keys)
  try {
    const h = meHarness({ vars: { SUPABASE_JWKS_URL: server.url } })
    const t1 = await sign(k1, claims({}, h.clock.now()))
    const t2 = await sign(k2, claims({}, h.clock.now()))
    await h.auth.verify(t1)
    const kept = await h.auth.verify(t2)
    server.keys = jwksOf(k2).keys
    h.clock.advance(h.config.jwksCacheMaxAgeMs)
    const error = await h.auth.verify(t1).catch((e) => e)
    assert(error instanceof ApiError && error.descriptionKey === 'unknownKey')
    // t2's key stayed: its entry survives the refresh (the set is fresh again).
    assert(await h.auth.verify(t2) === kept, 'the cached object')
  } finally {
    await server.close()
  }
})

Deno.test('createTokenCache: bounded LRU, recency refreshed on get, capacity 0 stores nothing', () => {
  const cache = createTokenCache<number>(2)
  const entry = (value: number, kid?: string) => ({ exp: 1, kid, value })
  cache.set('a', entry(1))
  cache.set('b', entry(2))
  cache.get('a')
  cache.set('c', entry(3))
  assertEquals(cache.size, 2)
  assertEquals(cache.get('b'), undefined, 'b was least recently used')
  assertEquals(cache.get('a')?.value, 1)
  const none = createTokenCache<number>(0)
  none.set('a', entry(1))
  assertEquals(none.size, 0)
})

Deno.test('createTokenCache: dropKids removes exactly the entries of those kids', () => {
  const cache = createTokenCache<number>(10)
  cache.set('a', { exp: 1, kid: 'k1', value: 1 })
  cache.set('b', { exp: 1, kid: 'k2', value: 2 })
  cache.set('c', { exp: 1, kid: undefined, value: 3 })
  cache.dropKids(new Set(['k1']))
  assertEquals([cache.get('a'), cache.get('b')?.value, cache.get('c')?.value], [undefined, 2, 3])
})

Deno.test('createTokenCache: generated token sizes (40 B to 16 KB) never take the cache past its byte bound or entry bound; the newest entry stays', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 40, max: 16_384 }), { minLength: 1, maxLength: 300 }),
      fc.integer({ min: 1, max: 50 }),
      fc.integer({ min: 20_000, max: 400_000 }),
      (lengths, capacity, maxBytes) => {
        const cache = createTokenCache<number>(capacity, maxBytes)
        let total = 0
        lengths.forEach((length, i) => {
          const token = `${i}.`.padEnd(length, 'x')
          cache.set(token, { exp: 0, kid: 'k', value: i })
          assert(cache.size <= capacity, `${cache.size} entries > ${capacity}`)
          assert(cache.bytes <= maxBytes, `${cache.bytes} bytes > ${maxBytes}`)
          if (entryBytes(token) <= maxBytes) assertEquals(cache.get(token)?.value, i)
          total += 1
        })
        assert(total === lengths.length)
      },
    ),
    { numRuns: 200 },
  )
})

Deno.test('createTokenCache: 8 KB tokens fit far fewer entries than 800-byte ones under the default 32 MiB', () => {
  const bound = 32 * 1024 * 1024
  const small = createTokenCache<number>(10_000, bound)
  const large = createTokenCache<number>(10_000, bound)
  for (let i = 0; i < 10_000; i++) {
    small.set(`${i}.`.padEnd(800, 'x'), { exp: 0, kid: 'k', value: i })
    large.set(`${i}.`.padEnd(8_192, 'x'), { exp: 0, kid: 'k', value: i })
  }
  assertEquals(small.size, 10_000)
  assertEquals(large.size, Math.floor(bound / entryBytes('x'.repeat(8_192))))
  assert(large.bytes <= bound)
})
