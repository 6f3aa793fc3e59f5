// The JWKS side (the J cases of tests/hostile/README.md), against a JWKS server on a free loopback
// port that can fail in each of its modes (down, slow, wrong type, oversized, redirect, private
// keys), and a hand-moved clock for cache age, cooldown and staleness.
import { assert, assertEquals, assertMatch } from '@std/assert'
import * as jose from 'jose'
import { assertAuthError, assertMe } from '../_helpers/assert_auth.ts'
import {
  countingFetch,
  downJwksUrl,
  HUGE_JWKS_BYTES,
  type JwksMode,
  type JwksServer,
  startJwksServer,
} from '../_helpers/jwks_server.ts'
import { claims, generateKeyPair, jwksOf, sign, type TestKey } from '../_helpers/keys.ts'
import { startLocalServer } from '../_helpers/local_server.ts'
import { type Harness, meHarness } from '../_helpers/me_harness.ts'
import { eventually } from '../_helpers/poll.ts'
import { capturingErrors } from '../_helpers/quietly.ts'

const k1 = await generateKeyPair('ES256')
const k2 = await generateKeyPair('ES256')

/** A harness on a fresh JWKS server publishing `keys`; closes the server afterwards. */
async function withJwks(
  keys: TestKey[],
  run: (server: JwksServer, h: Harness) => Promise<void>,
  vars: Record<string, string> = {},
): Promise<void> {
  const server = startJwksServer(jwksOf(...keys).keys)
  try {
    await run(server, meHarness({ vars: { SUPABASE_JWKS_URL: server.url, ...vars } }))
  } finally {
    await server.close()
  }
}

/** The lines `fn` writes with `console.error`. */
async function errorLines(fn: () => Promise<void>): Promise<string[]> {
  return (await capturingErrors(fn))[1]
}

async function tokenFor(h: Harness, key: TestKey, header: Record<string, unknown> = {}) {
  const c = claims({}, h.clock.now())
  return { token: await sign(key, c, header), ids: { sub: c.sub, session_id: c.session_id } }
}

async function expectOk(h: Harness, key: TestKey) {
  const { token, ids } = await tokenFor(h, key)
  await assertMe(await h.get(`Bearer ${token}`), token, ids)
}

async function expectKeysDown(h: Harness, key: TestKey = k1) {
  const { token } = await tokenFor(h, key)
  await assertAuthError(await h.get(`Bearer ${token}`), 'KEYS_DOWN', 'keysUnavailable', [token])
}

async function expectUnknownKey(h: Harness, key: TestKey) {
  const { token } = await tokenFor(h, key)
  await assertAuthError(await h.get(`Bearer ${token}`), 'BADTOKEN', 'unknownKey', [token])
}

Deno.test('J01 cold start, JWKS down -> 503 + Retry-After, not ready, one attempt and one log line per cooldown', async () => {
  const counter = countingFetch()
  const h = meHarness({ vars: { SUPABASE_JWKS_URL: downJwksUrl() }, fetch: counter.fetch })
  const lines = await errorLines(async () => {
    const { token } = await tokenFor(h, k1)
    const response = await h.get(`Bearer ${token}`)
    assertEquals(response.headers.get('Retry-After'), '30')
    await assertAuthError(response, 'KEYS_DOWN', 'keysUnavailable', [token])
    for (let i = 0; i < 10; i++) await expectKeysDown(h)
    assertEquals(await h.auth.keysReady(), false)
    assertEquals(counter.calls, 1)
    h.clock.advance(h.config.jwksCooldownMs)
    await expectKeysDown(h)
    assertEquals(counter.calls, 2)
  })
  assertEquals(lines.filter((line) => line.includes('JWKS refresh failed')).length, 2)
  assert(lines.every((line) => !line.includes('127.0.0.1')), 'no URL in the log')
})

Deno.test('J02 JWKS answers 500, 503 or 404 -> 503', async () => {
  for (const mode of ['500', '503', '404'] as JwksMode[]) {
    await withJwks([k1], async (server, h) => {
      server.mode = mode
      await errorLines(() => expectKeysDown(h))
      assertEquals(await h.auth.keysReady(), false)
    })
  }
})

Deno.test('J03 JWKS answers 302 to an internal address -> 503, the redirect is not followed', async () => {
  const target = startLocalServer(() => Response.json(jwksOf(k1)))
  try {
    await withJwks([k1], async (server, h) => {
      server.mode = '302'
      server.redirectTo = `${target.url}/jwks`
      await errorLines(() => expectKeysDown(h))
      assertEquals(server.count, 1)
      assertEquals(target.requests.length, 0)
    })
  } finally {
    await target.close()
  }
})

Deno.test('J04 a 200 of HTML or broken JSON -> 503', async () => {
  for (const mode of ['html', 'garbage'] as JwksMode[]) {
    await withJwks([k1], async (server, h) => {
      server.mode = mode
      await errorLines(() => expectKeysDown(h))
    })
  }
})

Deno.test('J05 a 200 of null, {}, {"keys":null}, {"keys":[null]} -> 503', async () => {
  for (const mode of ['null', 'bad', 'keys-null', 'keys-null-member'] as JwksMode[]) {
    await withJwks([k1], async (server, h) => {
      server.mode = mode
      await errorLines(() => expectKeysDown(h))
    })
  }
})

Deno.test('J05 a JWKS with private key members -> 503 plus an alert, and never loaded', async () => {
  await withJwks([k1], async (server, h) => {
    server.mode = 'private'
    server.privateKeys = [k1.privateJwk]
    const lines = await errorLines(() => expectKeysDown(h))
    assert(lines.some((line) => line.includes('ALERT') && line.includes('private')))
    assertEquals(await h.auth.keysReady(), false)
  })
})

Deno.test('J06 a JWKS of {"keys":[]} -> 401 per token, readiness false, an alert', async () => {
  await withJwks([k1], async (server, h) => {
    server.mode = 'empty'
    const lines = await errorLines(async () => {
      await expectUnknownKey(h, k1)
      assertEquals(await h.auth.keysReady(), false)
    })
    assert(lines.some((line) => line.includes('ALERT')))
  })
})

Deno.test('J06 readiness needs a key for an allowed algorithm: ES384-only or use=enc sets are not ready', async () => {
  const es384 = await jose.generateKeyPair('ES384', { extractable: true })
  const es384Jwk = { ...(await jose.exportJWK(es384.publicKey)), kid: 'p384', alg: 'ES384' }
  const encJwk = { ...k1.publicJwk, use: 'enc' }
  for (const keys of [[es384Jwk], [encJwk]]) {
    const server = startJwksServer(keys)
    try {
      const h = meHarness({ vars: { SUPABASE_JWKS_URL: server.url } })
      await errorLines(async () => assertEquals(await h.auth.keysReady(), false))
    } finally {
      await server.close()
    }
  }
  await withJwks([k1], async (_server, h) => assertEquals(await h.auth.keysReady(), true))
})

Deno.test('J07 a huge streamed JWKS -> 503 within milliseconds, the stream abandoned early', async () => {
  await withJwks([k1], async (server, h) => {
    server.mode = 'huge'
    const started = performance.now()
    await errorLines(() => expectKeysDown(h))
    assert(performance.now() - started < 2000, 'refused quickly')
    // The kernel's socket buffers take megabytes before the reader sees any (up to tens of MB when
    // the receive window autotunes): the proof is the body cancelled, far short of its end.
    await eventually(() => server.hugeBodiesAbandoned === 1, {
      timeoutMs: 2000,
      what: 'the JWKS server sees its body cancelled (the connection closed, not left stalled)',
      describe: () => `${server.hugeBodiesAbandoned} cancelled, ${server.hugeBytesSent} bytes`,
    })
    const sent = server.hugeBytesSent
    assert(sent < HUGE_JWKS_BYTES / 2, `read stopped early (${sent} bytes produced)`)
  })
})

Deno.test('J08 a slow JWKS within the timeout -> 200, and concurrent cold requests share one fetch', async () => {
  await withJwks([k1], async (server, h) => {
    server.mode = 'slow'
    server.delayMs = 300
    const { token, ids } = await tokenFor(h, k1)
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => h.get(`Bearer ${token}`)),
    )
    for (const response of responses) await assertMe(response, token, ids)
    assertEquals(server.count, 1)
  })
})

Deno.test('J08 a JWKS slower than the timeout -> 503', async () => {
  await withJwks([k1], async (server, h) => {
    server.mode = 'slow'
    server.delayMs = 800
    const started = performance.now()
    await errorLines(() => expectKeysDown(h))
    assert(performance.now() - started < 750, 'gave up at the timeout')
  }, { EDGE_AUTH_JWKS_TIMEOUT_MS: '200' })
})

Deno.test('J09 down after a warm cache: fresh keys, then stale keys for known kids (one attempt per cooldown), then 503', async () => {
  await withJwks([k1], async (server, h) => {
    const { cacheMaxAge, cooldown, staleMax } = {
      cacheMaxAge: h.config.jwksCacheMaxAgeMs,
      cooldown: h.config.jwksCooldownMs,
      staleMax: h.config.jwksStaleMaxMs,
    }
    const loadedAt = h.clock.now()
    await expectOk(h, k1)
    server.mode = '500'
    h.clock.advance(cacheMaxAge - 1)
    await expectOk(h, k1)
    assertEquals(server.count, 1, 'fresh: no fetch')
    h.clock.advance(1)
    await errorLines(async () => {
      await expectOk(h, k1)
      assertEquals(server.count, 2, 'stale: one refresh attempt, failed, known kid still served')
      for (let i = 0; i < 5; i++) await expectOk(h, k1)
      assertEquals(server.count, 2, 'no more attempts within the cooldown')
      // An unknown kid while the JWKS fails may be a new key: 503, and still no extra fetch.
      await expectKeysDown(h, k2)
      assertEquals(server.count, 2)
      assertEquals(await h.auth.keysReady(), true)
      h.clock.time = loadedAt + cacheMaxAge + staleMax - 1
      await expectOk(h, k1)
      h.clock.advance(1)
      await expectKeysDown(h)
      assertEquals(await h.auth.keysReady(), false)
    })
    server.mode = 'ok'
    h.clock.advance(cooldown)
    await expectOk(h, k1)
  })
})

Deno.test('J09 with EDGE_AUTH_JWKS_STALE_MAX_MS=0 a failed refresh after the cache age -> 503', async () => {
  await withJwks([k1], async (server, h) => {
    await expectOk(h, k1)
    server.mode = '500'
    h.clock.advance(h.config.jwksCacheMaxAgeMs)
    await errorLines(() => expectKeysDown(h))
  }, { EDGE_AUTH_JWKS_STALE_MAX_MS: '0' })
})

Deno.test('J10 a new kid inside the cooldown -> 401 without a fetch; after it -> one refetch, 200', async () => {
  await withJwks([k1], async (server, h) => {
    await expectOk(h, k1)
    server.keys = jwksOf(k1, k2).keys
    await expectUnknownKey(h, k2)
    assertEquals(server.count, 1)
    h.clock.advance(h.config.jwksCooldownMs)
    await expectOk(h, k2)
    await expectOk(h, k1)
    assertEquals(server.count, 2)
  })
})

Deno.test('J10 standby key published before the rotation -> both keys pass, no refetch at the switch', async () => {
  await withJwks([k1, k2], async (server, h) => {
    await expectOk(h, k1)
    await expectOk(h, k2)
    server.keys = jwksOf(k2, k1).keys
    await expectOk(h, k2)
    assertEquals(server.count, 1)
  })
})

Deno.test('J11 a removed kid keeps working until the next refresh, then -> 401 (cached tokens too)', async () => {
  const k3 = await generateKeyPair('ES256')
  await withJwks([k1, k2], async (server, h) => {
    const { token, ids } = await tokenFor(h, k1)
    await assertMe(await h.get(`Bearer ${token}`), token, ids)
    server.keys = jwksOf(k2).keys
    await assertMe(await h.get(`Bearer ${token}`), token, ids)
    // Refresh through an unknown kid after the cooldown.
    h.clock.advance(h.config.jwksCooldownMs)
    await expectUnknownKey(h, k3)
    assertEquals(server.count, 2)
    await assertAuthError(await h.get(`Bearer ${token}`), 'BADTOKEN', 'unknownKey', [token])
    await expectOk(h, k2)
  })
})

Deno.test('J11 a removed kid also fails after a refresh caused by the cache age', async () => {
  await withJwks([k1, k2], async (server, h) => {
    const { token, ids } = await tokenFor(h, k1)
    await assertMe(await h.get(`Bearer ${token}`), token, ids)
    server.keys = jwksOf(k2).keys
    h.clock.advance(h.config.jwksCacheMaxAgeMs)
    await assertAuthError(await h.get(`Bearer ${token}`), 'BADTOKEN', 'unknownKey', [token])
    assertEquals(server.count, 2)
  })
})

Deno.test('J12 500 concurrent random kids at cold start, then 500 more -> all 401, exactly one fetch', async () => {
  await withJwks([k1], async (server, h) => {
    const burst = async () => {
      const tokens = await Promise.all(
        Array.from(
          { length: 500 },
          () => sign(k1, claims({}, h.clock.now()), { kid: crypto.randomUUID() }),
        ),
      )
      const responses = await Promise.all(tokens.map((t) => h.get(`Bearer ${t}`)))
      for (const response of responses) {
        assertEquals(response.status, 401)
        await response.body?.cancel()
      }
    }
    await burst()
    assertEquals(server.count, 1)
    await burst()
    assertEquals(server.count, 1)
  })
})

Deno.test('J12 (J18) random kids during an outage -> 503, at most one fetch per cooldown', async () => {
  await withJwks([k1], async (server, h) => {
    await expectOk(h, k1)
    server.mode = '500'
    h.clock.advance(h.config.jwksCooldownMs)
    await errorLines(async () => {
      const tokens = await Promise.all(
        Array.from(
          { length: 200 },
          () => sign(k1, claims({}, h.clock.now()), { kid: crypto.randomUUID() }),
        ),
      )
      const responses = await Promise.all(tokens.map((t) => h.get(`Bearer ${t}`)))
      for (const response of responses) {
        assertEquals(response.status, 503)
        await response.body?.cancel()
      }
    })
    assertEquals(server.count, 2, 'one attempt for the whole outage window')
    await expectOk(h, k1)
  })
})

Deno.test('J14 a kid naming our EC key with alg RS256 -> 401, treated as an unknown kid', async () => {
  await withJwks([k1], async (server, h) => {
    await expectOk(h, k1)
    const { token } = await tokenFor(h, k1, { alg: 'RS256' })
    await assertAuthError(await h.get(`Bearer ${token}`), 'BADTOKEN', 'unknownKey', [token])
    assertEquals(server.count, 1)
  })
})

Deno.test('J15 a JWKS RSA key under 2048 bits -> 503 (never a 401 or 500), not ready', async () => {
  const weak = await crypto.subtle.generateKey(
    {
      name: 'RSASSA-PKCS1-v1_5',
      modulusLength: 1024,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: 'SHA-256',
    },
    true,
    ['sign', 'verify'],
  )
  const key: TestKey = {
    alg: 'RS256',
    kid: 'weak-rsa',
    privateKey: weak.privateKey,
    publicKey: weak.publicKey,
    publicJwk: { ...(await jose.exportJWK(weak.publicKey)), kid: 'weak-rsa', alg: 'RS256' },
    privateJwk: {},
  }
  await withJwks([key], async (_server, h) => {
    await errorLines(async () => {
      await expectKeysDown(h, key)
      assertEquals(await h.auth.keysReady(), false)
    })
  })
})

Deno.test('J16 two instances with cold caches fetch once each, then not again', async () => {
  await withJwks([k1], async (server, h) => {
    const other = meHarness({ vars: { SUPABASE_JWKS_URL: server.url } })
    for (let i = 0; i < 3; i++) {
      await expectOk(h, k1)
      await expectOk(other, k1)
    }
    assertEquals(server.count, 2)
  })
})

Deno.test('J17 the gateway JWT check is off for me: verify_jwt = false in supabase/config.toml', async () => {
  const toml = await Deno.readTextFile(new URL('../../supabase/config.toml', import.meta.url))
  const block = toml.split(/^\[/m).find((section) => section.startsWith('functions.me]'))
  assert(block, 'a [functions.me] block')
  assertMatch(block, /^verify_jwt = false\b/m)
  assertMatch(block, /^entrypoint = "\.\.\/functions\/me\/index\.ts"$/m)
  assertMatch(block, /^import_map = "\.\.\/functions\/me\/import_map\.json"$/m)
})
