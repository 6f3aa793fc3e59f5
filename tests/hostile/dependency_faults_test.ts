// Dependency faults against the real components, on a stack of this test's own (stopping the
// auth server or PostgreSQL of the shared stack would fail the other test files): the auth server
// stopped, then PostgreSQL stopped, what every function answers meanwhile, and recovery without a
// restart once each comes back. The functions run with a 1 s JWKS cooldown so that recovery is
// quick to observe; everything else is the default configuration.
import { assert, assertEquals } from '@std/assert'
import { authFromConfig } from '../../functions/_shared/auth/from_env.ts'
import { DESCRIPTIONS } from '../../functions/_shared/core/errors.ts'
import { assertAuthError, assertMe, assertNoEcho } from '../_helpers/assert_auth.ts'
import { policyApp } from '../_helpers/me_harness.ts'
import { eventually } from '../_helpers/poll.ts'
import { databaseConnectionsByFunction } from '../_helpers/worker_connections.ts'
import {
  callFunction,
  createTestUser,
  hasAuthServer,
  loginUser,
  mintToken,
  requestInit,
  stackConfig,
  stackControl,
  startTestStack,
  type TestStack,
} from '../_helpers/stack.ts'
import { decodeJwt } from 'jose'

/** The functions' session cache TTL (their default): a "live" answer is reused that long. */
const SESSION_TTL_MS = 1000
/** The pool size of the functions' database client (`functions/_shared/db/database.ts`). */
const POOL_MAX = 5

async function status(response: Promise<Response>): Promise<number> {
  const answer = await response
  await answer.body?.cancel()
  return answer.status
}

async function json(response: Promise<Response>): Promise<[number, unknown]> {
  const answer = await response
  return [answer.status, await answer.json()]
}

/** Polls until `probe` answers `want`, at most `limitMs`; every answer must be in `allowed`. */
async function until(
  probe: () => Promise<number>,
  want: number,
  allowed: number[],
  limitMs: number,
): Promise<number> {
  let last = 0
  const { elapsedMs } = await eventually(async () => {
    last = await probe()
    assert(last === want || allowed.includes(last), `while waiting for ${want}: ${last}`)
    return last === want
  }, { timeoutMs: limitMs, intervalMs: 100, what: `an answer ${want}`, describe: () => `${last}` })
  return elapsedMs
}

/**
 * The most database connections one function holds: each runs in a worker process of its own,
 * with a pool of its own.
 */
async function edgeAuthConnections(stack: TestStack): Promise<number> {
  return Math.max(0, ...Object.values(await databaseConnectionsByFunction(stack)))
}

/**
 * Concurrent session-checked requests, enough to open every connection of the pool.
 *
 * @returns the slowest request's time in milliseconds (a figure, not asserted)
 */
async function burst(stack: TestStack, token: string): Promise<number> {
  const timed = await Promise.all(
    Array.from({ length: 12 }, async () => {
      const started = performance.now()
      const got = await status(callFunction('notes', requestInit(undefined, token), stack))
      return [got, performance.now() - started] as const
    }),
  )
  assertEquals(new Set(timed.map(([got]) => got)), new Set([200]))
  return Math.max(...timed.map(([, ms]) => ms))
}

/** A burst like {@linkcode burst}: 200 when every request succeeded, else the first other status. */
async function burstStatus(stack: TestStack, token: string): Promise<number> {
  const statuses = await Promise.all(
    Array.from(
      { length: 12 },
      () => status(callFunction('notes', requestInit(undefined, token), stack)),
    ),
  )
  return statuses.find((got) => got !== 200) ?? 200
}

/**
 * Sequential `me` requests for sessions nobody else asks about (no shared session check), each
 * needing the database; every answer must be `want`.
 *
 * @returns the slowest request's time in milliseconds (a figure, not asserted)
 */
async function sessionChecks(stack: TestStack, userId: string, want: number): Promise<number> {
  let slowest = 0
  for (let i = 0; i < 8; i++) {
    const token = await mintToken({ sub: userId }, stack)
    const started = performance.now()
    const got = await status(callFunction('me', requestInit(undefined, token), stack))
    slowest = Math.max(slowest, performance.now() - started)
    // 401: a valid token for a session that never existed; 503: the store cannot tell.
    assertEquals(got, want)
  }
  return slowest
}

Deno.test({
  name:
    'dependency faults on a real stack: auth server down, then PostgreSQL down -> documented 502/503s, cached keys keep me working, no 401 for an outage; recovery without a restart; no connection leak',
  ignore: !hasAuthServer,
  async fn(t) {
    const dedicated = await startTestStack({
      // Without the injected key set a cold instance depends on the JWKS endpoint, which this test
      // takes down with the auth server (with it, a cold instance verifies without a fetch).
      functionsEnv: { EDGE_AUTH_JWKS_COOLDOWN_MS: '1000', SUPABASE_JWKS: '' },
    })
    const stack = dedicated.info
    const call = (path: string, init?: RequestInit) => callFunction(path, init, stack)
    const figures: string[] = []
    try {
      const user = await createTestUser({ stack })
      const session = await loginUser(user, stack)
      const ids = {
        sub: user.id,
        session_id: decodeJwt(session.access_token).session_id,
      }
      const token = session.access_token
      await assertMe(await call('me', requestInit(undefined, token)), token, ids)
      assertEquals(await status(call('notes', requestInit({ body: 'before' }, token))), 201)
      assertEquals(await json(call('health')), [200, { status: 'ok' }])
      // Logout's instance gets its keys too (a session that never existed still gets 204).
      const ghost = await mintToken({}, stack)
      assertEquals(await status(call('logout', requestInit(undefined, ghost, 'POST'))), 204)

      await t.step(
        'auth server stopped: login and refresh 502, me 200 on cached keys, health 200',
        async () => {
          await stackControl('auth/stop', undefined, stack)
          const login = await call(
            'login',
            requestInit({ email: user.email, password: user.password }),
          )
          await assertNoEcho(login, [user.password, user.email])
          assertEquals(await json(Promise.resolve(login)), [502, {
            error: 'auth_upstream_unavailable',
            error_description: 'Auth server unavailable',
          }])
          const started = performance.now()
          const refresh = await status(
            call('refresh', requestInit({ refresh_token: session.refresh_token })),
          )
          const refreshMs = performance.now() - started
          assertEquals(refresh, 502)
          await assertMe(await call('me', requestInit(undefined, token)), token, ids)
          assertEquals(await status(call('notes', requestInit({ body: 'auth down' }, token))), 201)
          // Health answers what the functions can do: verify tokens with the keys they hold.
          assertEquals(await json(call('health')), [200, { status: 'ok' }])
          // A live token's logout needs the auth server: 502, and the session stays live.
          assertEquals(await status(call('logout', requestInit(undefined, token, 'POST'))), 502)
          figures.push(
            `auth down: login 502, refresh 502 in ${
              Math.round(refreshMs)
            } ms, me 200, notes 201, health 200, logout 502`,
          )
        },
      )

      await t.step(
        'auth server still down, functions restarted (cold, no keys): me 503 + Retry-After never 401, health 503 jwks down',
        async () => {
          await stackControl('functions/restart', undefined, stack)
          await assertAuthError(
            await call('me', requestInit(undefined, token)),
            'KEYS_DOWN',
            'keysUnavailable',
            [token],
          )
          const health = await call('health')
          assert(Number(health.headers.get('Retry-After')) >= 1, 'Retry-After')
          assertEquals(await json(Promise.resolve(health)), [503, {
            status: 'degraded',
            jwks: 'down',
            database: 'ok',
          }])
          figures.push(
            'auth down, cold functions: me 503 keys unavailable + Retry-After, health 503 {jwks: down, database: ok}',
          )
        },
      )

      await t.step(
        'auth server started again: me 200, health 200, login 200 without a restart',
        async () => {
          await stackControl('auth/start', undefined, stack)
          const meMs = await until(() => status(call('me', requestInit(undefined, token))), 200, [
            503,
          ], 10_000)
          await assertMe(await call('me', requestInit(undefined, token)), token, ids)
          // health is an isolate of its own: its key set recovers after its own cooldown.
          await until(() => status(call('health')), 200, [503], 5_000)
          assertEquals(await json(call('health')), [200, { status: 'ok' }])
          await loginUser(user, stack)
          figures.push(
            `auth back: me 200 after ${
              Math.round(meMs)
            } ms (1 s JWKS cooldown), health 200, login 200`,
          )
        },
      )

      await t.step(
        'PostgreSQL stopped: me and notes 503 (fail closed), token-only route 200, health 503 database down, logout of an expired token 503',
        async () => {
          const burstBefore = await burst(stack, token)
          const before = await edgeAuthConnections(stack)
          assert(before > 0, 'the burst holds connections')
          figures.push(
            `db up: after a burst of 12 at most ${before} connections per function, slowest ${
              Math.round(burstBefore)
            } ms`,
          )
          const config = stackConfig({}, stack)
          const tokenOnly = policyApp(authFromConfig(config), config)
          const expired = await mintToken({
            sub: user.id,
            iat: nowSeconds() - 600,
            exp: nowSeconds() - 60,
          }, stack)
          assertEquals(
            await status(Promise.resolve(tokenOnly.request('/api', requestInit(undefined, token)))),
            200,
          )

          await stackControl('postgres/stop', undefined, stack)
          const stoppedAt = performance.now()
          /**
           * Polls until `path` fails closed on the session check. Each function's last "live"
           * answer (asked before the stop) lasts the TTL: until then, only for a request sent
           * within it, an answer `meanwhile` accepts (me: 200; notes: its query's 503).
           */
          const untilSessionStoreDown = async (
            path: string,
            meanwhile: (response: Response) => Promise<void>,
          ) => {
            const { value, elapsedMs } = await eventually(async () => {
              const sentAt = performance.now()
              const response = await call(path, requestInit(undefined, token))
              const body = await response.clone().json().catch(() => null)
              const description = body?.error_description
              if (response.status === 503 && description === DESCRIPTIONS.sessionStoreUnavailable) {
                return response
              }
              const late = sentAt - stoppedAt
              assert(late < SESSION_TTL_MS, `${response.status} sent ${Math.round(late)} ms after`)
              await meanwhile(response)
            }, {
              timeoutMs: SESSION_TTL_MS + 3_000,
              since: stoppedAt,
              what: `${path} fails closed once its cached "live" answer lapses`,
            })
            await assertAuthError(value, 'SESSION_DOWN', 'sessionStoreUnavailable', [token])
            return elapsedMs
          }
          const meDownMs = await untilSessionStoreDown('me', async (response) => {
            await assertMe(response, token, ids)
          })
          const notesDownMs = await untilSessionStoreDown('notes', async (response) => {
            await assertAuthError(response, 'SESSION_DOWN', 'databaseUnavailable', [token])
          })
          figures.push(
            `db down: me fails closed ${Math.round(meDownMs)} ms after the stop, notes ${
              Math.round(notesDownMs)
            } ms`,
          )
          for (
            const init of [requestInit(undefined, token), requestInit({ body: 'db down' }, token)]
          ) {
            await assertAuthError(
              await call('notes', init),
              'SESSION_DOWN',
              'sessionStoreUnavailable',
              [token],
            )
          }
          // A route that trusts the token until exp needs no database.
          const api = await tokenOnly.request('/api', requestInit(undefined, token))
          assertEquals(api.status, 200, await api.clone().text())
          await api.body?.cancel()
          const health = await call('health')
          assertEquals(await json(Promise.resolve(health)), [503, {
            status: 'degraded',
            jwks: 'ok',
            database: 'down',
          }])
          await assertAuthError(
            await call('logout', requestInit(undefined, expired, 'POST')),
            'SESSION_DOWN',
            'sessionStoreUnavailable',
            [expired],
          )
          // The auth server needs PostgreSQL too: its failure is an upstream failure here.
          const login = await status(
            call('login', requestInit({ email: user.email, password: user.password })),
          )
          const logout = await status(call('logout', requestInit(undefined, token, 'POST')))
          assert([502, 504].includes(login), `login ${login}`)
          assert([502, 504].includes(logout), `logout ${logout}`)
          // Many failing requests meanwhile: a pool that leaked a connection per failure would show.
          const during = await Promise.all(
            Array.from({ length: 30 }, () => status(call('notes', requestInit(undefined, token)))),
          )
          assertEquals(new Set(during), new Set([503]))
          // Each a new connection attempt: a 503 must come at once, not after a reconnect backoff.
          const slowest503 = await sessionChecks(stack, user.id, 503)
          figures.push(
            `db down: slowest of 8 sequential session checks (each 503): ${
              Math.round(slowest503)
            } ms`,
          )
          figures.push(
            `db down: me 503, notes 503, token-only route 200, health 503 {jwks: ok, database: down}, logout (expired token) 503, login ${login}, logout (live token) ${logout}`,
          )
        },
      )

      await t.step(
        'PostgreSQL started again: me, notes and health recover without a restart; connections stay within the pool',
        async () => {
          await stackControl('postgres/start', undefined, stack)
          const meMs = await until(() => status(call('me', requestInit(undefined, token))), 200, [
            503,
          ], 15_000)
          await assertMe(await call('me', requestInit(undefined, token)), token, ids)
          // Through a transaction pooler new connections may still be refused for a moment after
          // the first success (PgBouncer's server_login_retry): recovery is complete once a whole
          // burst succeeds; from then on every request must.
          const settledMs = await until(() => burstStatus(stack, token), 200, [503], 5_000)
          assertEquals(await status(call('notes', requestInit({ body: 'after' }, token))), 201)
          assertEquals(await json(call('health')), [200, { status: 'ok' }])
          const burstAfter = await burst(stack, token)
          const after = await edgeAuthConnections(stack)
          const slowest401 = await sessionChecks(stack, user.id, 401)
          figures.push(
            `db back: me 200 after ${Math.round(meMs)} ms, a whole burst 200 after ${
              Math.round(settledMs)
            } ms more; after the same burst at most ${after} ` +
              `connections per function (pool max ${POOL_MAX}), slowest ${
                Math.round(burstAfter)
              } ms; ` +
              `slowest of 8 sequential session checks ${Math.round(slowest401)} ms`,
          )
          assert(after <= POOL_MAX, `${after} connections, more than the pool's ${POOL_MAX}`)
          const [, list] = await json(call('notes?limit=10', requestInit(undefined, token)))
          const bodies = (list as { notes: { body: string }[] }).notes.map((note) => note.body)
          assertEquals(bodies, ['after', 'auth down', 'before'], 'every 201 is there, nothing else')
        },
      )
    } finally {
      console.log(figures.map((line) => `faults: ${line}`).join('\n'))
      await dedicated.dispose()
    }
  },
})

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}
