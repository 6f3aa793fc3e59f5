// JWKS faults the real auth server cannot produce on demand (unreachable at cold start, slower
// than the timeout, an HTML page, a 100 MB body), in process against tests/_helpers/jwks_server.ts:
// what `me` and `health` answer during the fault, and that the same instance recovers once the
// JWKS answers again, with no restart. The unit tests (tests/unit/jwks_test.ts) pin each fault's
// mapping; these follow one cold instance through the outage and out of it.
import { assert, assertEquals } from '@std/assert'
import type { Sql } from '../../functions/_shared/db/database.ts'
import { createCappedFetch, JwksResponseError } from '../../functions/_shared/keys/jwks_fetch.ts'
import { createHealthApp } from '../../functions/health/app.ts'
import { assertAuthError, assertMe } from '../_helpers/assert_auth.ts'
import { type JwksMode, startJwksServer } from '../_helpers/jwks_server.ts'
import { claims, generateKeyPair, jwksOf, sign, type TestKey } from '../_helpers/keys.ts'
import { closedPort } from '../_helpers/local_server.ts'
import { type Harness, meHarness } from '../_helpers/me_harness.ts'
import { quietly } from '../_helpers/quietly.ts'

const published = await generateKeyPair('ES256')
const unpublished = await generateKeyPair('ES256')

async function token(h: Harness, key: TestKey) {
  const c = claims({}, h.clock.now())
  return { token: await sign(key, c), ids: { sub: c.sub, session_id: c.session_id } }
}

/** A database that answers every query: these cases are about the key source only. */
const answeringDatabase = () => (() => Promise.resolve([])) as unknown as Sql

function health(h: Harness): Promise<Response> {
  const app = createHealthApp(h.config, { auth: h.auth, database: answeringDatabase })
  return Promise.resolve(app.request('/health'))
}

async function assertHealth(response: Response, jwks: 'ok' | 'down'): Promise<void> {
  const body = await response.json()
  if (jwks === 'ok') {
    assertEquals([response.status, body], [200, { status: 'ok' }])
    return
  }
  assertEquals([response.status, body], [503, {
    status: 'degraded',
    jwks: 'down',
    database: 'ok',
  }])
  assert(Number(response.headers.get('Retry-After')) >= 1, 'Retry-After on 503')
}

const FAULTS: [string, JwksMode | 'unreachable'][] = [
  ['unreachable (connection refused)', 'unreachable'],
  ['slower than the 300 ms timeout', 'slow'],
  ['a 200 HTML maintenance page', 'html'],
  ['a 100 MB streamed body', 'huge'],
]

for (const [label, fault] of FAULTS) {
  Deno.test(`JWKS ${label} at cold start -> me 503 + Retry-After (never 401), health 503 jwks down; JWKS back -> 200 on the same instance`, async () => {
    // Unreachable: a port nobody listens on, where the JWKS server starts later.
    const port = fault === 'unreachable' ? closedPort() : 0
    let server = fault === 'unreachable' ? null : startJwksServer(jwksOf(published).keys)
    const url = server?.url ?? `http://127.0.0.1:${port}/auth/v1/.well-known/jwks.json`
    try {
      if (server && fault !== 'unreachable') {
        server.mode = fault
        server.delayMs = 1000
      }
      const h = meHarness({ vars: { SUPABASE_JWKS_URL: url, EDGE_AUTH_JWKS_TIMEOUT_MS: '300' } })
      const valid = await token(h, published)
      const stranger = await token(h, unpublished)
      await quietly(async () => {
        // A valid token and an unknown kid alike: during an outage an unknown kid may be a new key.
        for (const { token } of [valid, stranger]) {
          await assertAuthError(await h.get(`Bearer ${token}`), 'KEYS_DOWN', 'keysUnavailable', [
            token,
          ])
        }
        await assertHealth(await health(h), 'down')
      })

      if (server) server.mode = 'ok'
      else server = startJwksServer(jwksOf(published).keys, { port })
      // The attempt gate reopens after the cooldown (Retry-After said as much); nothing restarts.
      h.clock.advance(h.config.jwksCooldownMs)
      await assertMe(await h.get(`Bearer ${valid.token}`), valid.token, valid.ids)
      await assertHealth(await health(h), 'ok')
      await assertAuthError(
        await h.get(`Bearer ${stranger.token}`),
        'BADTOKEN',
        'unknownKey',
        [stranger.token],
      )
    } finally {
      await server?.close()
    }
  })
}

Deno.test('J07 ten 100 MB streamed JWKS bodies through the capped fetch -> each refused after 64 KiB; RSS stays flat (figures printed)', async () => {
  const server = startJwksServer(jwksOf(published).keys)
  server.mode = 'huge'
  const capped = createCappedFetch()
  try {
    const before = Deno.memoryUsage().rss
    for (let i = 0; i < 10; i++) {
      const error = await capped(server.url).catch((e) => e)
      assert(error instanceof JwksResponseError, String(error))
    }
    const after = Deno.memoryUsage().rss
    const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1)
    console.log(
      `J07: 10 bodies of 100 MB offered, ${mb(server.hugeBytesSent)} MB produced by the server ` +
        `(read stops at 64 KiB); RSS ${mb(before)} MB before, ${mb(after)} MB after`,
    )
    // Reading even one body whole would add at least 100 MB; the bound leaves room for GC noise.
    assert(after - before < 50 * 1024 * 1024, `RSS grew by ${mb(after - before)} MB`)
  } finally {
    await server.close()
  }
})
