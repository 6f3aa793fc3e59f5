// Every wait on the database is bounded. With a lock held on a table the functions read or write
// (as a migration behind a long transaction, a VACUUM FULL or an auth server upgrade holds one),
// with a server that stops answering, and with a pooler that has no free server connection, every
// route that queries answers 503 with Retry-After within the database budget (1.5 s by default)
// instead of waiting as long as the fault lasts, health says the store is down, and everything
// answers again once the fault is gone, without a restart. Real PostgreSQL, the real functions,
// and in the pooler lane PgBouncer in transaction mode; the only fake is a listener that never
// answers, which neither can be made to be from the start. Each case prints what it measured.
import { assert, assertEquals } from '@std/assert'
import fc from 'fast-check'
import { DEFAULT_DB_TIMEOUT_MS } from '../../functions/_shared/core/config.ts'
import { type DescriptionKey, DESCRIPTIONS } from '../../functions/_shared/core/errors.ts'
import { authFromConfig } from '../../functions/_shared/auth/from_env.ts'
import { createDatabaseClient } from '../../functions/_shared/db/database.ts'
import { DATABASE_TIMEOUT } from '../../functions/_shared/db/database_errors.ts'
import { createHealthApp } from '../../functions/health/app.ts'
import { createMeApp } from '../../functions/me/app.ts'
import { createSessionsApp } from '../../functions/sessions/app.ts'
import { assertAuthError } from '../_helpers/assert_auth.ts'
import {
  assertNoBugLine,
  functionsLogFrom,
  holdTransaction,
  insertSessions,
  sessionCount,
  tokenFor,
  withAdmin,
} from '../_helpers/db_faults.ts'
import { eventually } from '../_helpers/poll.ts'
import { capturingErrors } from '../_helpers/quietly.ts'
import {
  callFunction,
  createTestUser,
  hasAuthServer,
  requestInit,
  stackConfig,
  startTestStack,
  type TestStack,
  testStack,
} from '../_helpers/stack.ts'

/** The functions' database budget (their default): a 503 comes within it. */
const BUDGET_MS = DEFAULT_DB_TIMEOUT_MS
/** What a loaded 2-core machine may add to it; a wait the budget did not end lasts seconds more. */
const SLACK_MS = 1_000
/** The functions' session cache TTL (their default): a cached answer is polled for after it. */
const SESSION_TTL_MS = 1_000
/** How long a fault lasts unless the test ends it: far beyond any bound asserted here. */
const FAULT_MS = 20_000

const TABLES = ['auth.sessions', 'auth.users', 'edge_auth.revocations', 'public.notes'] as const
type Table = typeof TABLES[number]

/** One request of a route that queries, and what it needs from the database. */
interface Probe {
  name: string
  /** The tables whose lock it waits for (the functions' statements read or write them). */
  needs: readonly Table[]
  /** Its status when the database serves it. */
  ok: number
  /** The description of its 503 (health: its own body). */
  unavailable: DescriptionKey | 'health'
  /** Another description when this table is the one that fails it. */
  unavailableWith?: Partial<Record<Table, DescriptionKey>>
  /** Makes what the request needs (before the fault) and returns the request. */
  prepare(stack: TestStack, userId: string): Promise<{ send(): Promise<Response>; token?: string }>
}

function send(stack: TestStack, path: string, init: RequestInit): () => Promise<Response> {
  return () => callFunction(path, init, stack)
}

/** A session of the user written as the auth server writes one, with a live or expired token. */
async function session(stack: TestStack, userId: string, expired = false) {
  const [id] = await insertSessions(stack, userId, 1)
  return { id: id!, token: await tokenFor(stack, userId, id!, expired) }
}

const PROBES: readonly Probe[] = [
  {
    name: 'GET /me for a session not seen before (its lookup)',
    needs: ['auth.sessions', 'auth.users'],
    ok: 200,
    unavailable: 'sessionStoreUnavailable',
    async prepare(stack, userId) {
      const { token } = await session(stack, userId)
      return { send: send(stack, 'me', requestInit(undefined, token)), token }
    },
  },
  {
    name: 'GET /me for a session seen more than the TTL ago (the revocation poll)',
    needs: ['edge_auth.revocations'],
    ok: 200,
    unavailable: 'sessionStoreUnavailable',
    async prepare(stack, userId) {
      const { token } = await session(stack, userId)
      const first = await callFunction('me', requestInit(undefined, token), stack)
      assertEquals(first.status, 200, await first.text())
      await new Promise((resolve) => setTimeout(resolve, SESSION_TTL_MS + 100))
      return { send: send(stack, 'me', requestInit(undefined, token)), token }
    },
  },
  {
    name: 'GET /notes',
    needs: ['auth.sessions', 'auth.users', 'public.notes'],
    ok: 200,
    // The session check fails first, unless only the notes are out of reach.
    unavailable: 'sessionStoreUnavailable',
    unavailableWith: { 'public.notes': 'databaseUnavailable' },
    async prepare(stack, userId) {
      const { token } = await session(stack, userId)
      return { send: send(stack, 'notes', requestInit(undefined, token)), token }
    },
  },
  {
    name: 'POST /notes',
    needs: ['auth.sessions', 'auth.users', 'public.notes'],
    ok: 201,
    unavailable: 'sessionStoreUnavailable',
    unavailableWith: { 'public.notes': 'databaseUnavailable' },
    async prepare(stack, userId) {
      const { token } = await session(stack, userId)
      return { send: send(stack, 'notes', requestInit({ body: 'during a fault' }, token)), token }
    },
  },
  {
    name: 'POST /logout with an expired token (its SQL path)',
    needs: ['auth.sessions', 'edge_auth.revocations'],
    ok: 204,
    unavailable: 'sessionStoreUnavailable',
    async prepare(stack) {
      // A user of its own: the logout ends every session of the user.
      const user = await createTestUser({ stack })
      await insertSessions(stack, user.id, 2)
      const { token } = await session(stack, user.id, true)
      return { send: send(stack, 'logout', requestInit(undefined, token, 'POST')), token }
    },
  },
  {
    name: 'POST /sessions/revoke',
    needs: ['auth.sessions', 'edge_auth.revocations'],
    ok: 204,
    unavailable: 'sessionStoreUnavailable',
    async prepare(stack) {
      // A user of its own, so that revoking does not end the other probes' sessions.
      const user = await createTestUser({ stack })
      await insertSessions(stack, user.id, 3)
      const init = {
        method: 'POST',
        headers: { apikey: stack.secretKey, 'Content-Type': 'application/json' },
        body: JSON.stringify({ user_id: user.id }),
      }
      return { send: send(stack, 'sessions/revoke', init) }
    },
  },
  {
    name: 'GET /health',
    needs: ['auth.sessions', 'auth.users', 'edge_auth.revocations'],
    ok: 200,
    unavailable: 'health',
    prepare(stack) {
      return Promise.resolve({ send: send(stack, 'health', {}) })
    },
  },
]

/**
 * Asserts a 503 of the probe: status, body, Retry-After within 1..5, no echo of its token.
 *
 * @param table the locked table, when that is the fault
 */
async function assertUnavailable(
  probe: Probe,
  response: Response,
  token: string | undefined,
  table?: Table,
) {
  const description = (table && probe.unavailableWith?.[table]) ?? probe.unavailable
  if (description === 'health') {
    assertEquals(response.status, 503)
    assertEquals(await response.json(), { status: 'degraded', jwks: 'ok', database: 'down' })
  } else {
    await assertAuthError(response, 'SESSION_DOWN', description, token ? [token] : [])
  }
  const retryAfter = Number(response.headers.get('Retry-After'))
  assert(retryAfter >= 1 && retryAfter <= 5, `Retry-After ${retryAfter}`)
}

async function timed(request: () => Promise<Response>): Promise<[Response, number]> {
  const started = performance.now()
  const response = await request()
  // The body is part of the answer: time it too.
  const body = response.body === null ? null : await response.arrayBuffer()
  const copy = new Response(body, response)
  return [copy, performance.now() - started]
}

/** What was measured, printed at the end of each test. */
function report(figures: string[]): void {
  console.log(figures.map((line) => `deadlines: ${line}`).join('\n'))
}

for (const table of TABLES) {
  const waiting = PROBES.filter((probe) => probe.needs.includes(table))
  const others = PROBES.filter((probe) => !probe.needs.includes(table))
  Deno.test({
    name: `with ${table} locked (access exclusive, by another transaction) -> ${
      waiting.map((probe) => probe.name.split(' (')[0]).join(', ')
    } 503 + Retry-After within ${BUDGET_MS} ms; ${
      others.map((probe) => probe.name.split(' (')[0]).join(', ') || 'nothing'
    } as usual; all as usual once it is released`,
    ignore: !hasAuthServer,
    async fn() {
      const stack = testStack()
      const user = await createTestUser({ stack })
      const figures: string[] = []
      const prepared = []
      for (const probe of PROBES) prepared.push({ probe, ...(await probe.prepare(stack, user.id)) })
      await warmUp(stack, user.id)
      const log = functionsLogFrom(stack)
      const lock = await holdTransaction(stack, `lock table ${table} in access exclusive mode`)
      const lockedAt = performance.now()
      try {
        for (const { probe, send, token } of prepared) {
          const [response, ms] = await timed(send)
          if (probe.needs.includes(table)) {
            await assertUnavailable(probe, response, token, table)
            assert(ms < BUDGET_MS + SLACK_MS, `${probe.name}: 503 after ${Math.round(ms)} ms`)
            figures.push(`${table} locked: ${probe.name} 503 in ${Math.round(ms)} ms`)
          } else {
            assertEquals(response.status, probe.ok, `${probe.name}: ${await response.text()}`)
            assert(
              ms < BUDGET_MS + SLACK_MS,
              `${probe.name}: ${probe.ok} after ${Math.round(ms)} ms`,
            )
          }
        }
        // Every request above ended while the lock was still held: none waited for its release.
        assert(performance.now() - lockedAt < FAULT_MS)
      } finally {
        await lock.release()
      }
      for (const { probe, send } of prepared) {
        const [response] = await timed(send)
        assertEquals(response.status, probe.ok, `${probe.name} after the release`)
      }
      // The revoked user's sessions ended with the 204 after the release, not before.
      assertNoBugLine(log.lines())
      report(figures)
    },
  })
}

/**
 * One request to each function that queries, with sessions and users of its own (a probe's
 * session answered now would be cached): each has started and holds an idle connection, so the
 * fault meets connections mid-life and the times measured are the database's, not a cold start.
 */
async function warmUp(stack: TestStack, userId: string): Promise<void> {
  for (const path of ['me', 'notes']) {
    const { token } = await session(stack, userId)
    assertEquals((await timed(send(stack, path, requestInit(undefined, token))))[0].status, 200)
  }
  const expired = await tokenFor(stack, crypto.randomUUID(), crypto.randomUUID(), true)
  const logout = send(stack, 'logout', requestInit(undefined, expired, 'POST'))
  assertEquals((await timed(logout))[0].status, 204)
  const revoke = send(stack, 'sessions/revoke', {
    method: 'POST',
    headers: { apikey: stack.secretKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ user_id: crypto.randomUUID() }),
  })
  assertEquals((await timed(revoke))[0].status, 204)
  assertEquals((await timed(send(stack, 'health', {})))[0].status, 200)
}

/** The processes whose stop silences the functions' database: PgBouncer, or all of PostgreSQL. */
function databaseProcesses(stack: TestStack): number[] {
  if (stack.pids.pooler !== null) return [stack.pids.pooler]
  const postmaster = stack.pids.postgres!
  const children = [...Deno.readDirSync('/proc')]
    .filter((entry) => /^\d+$/.test(entry.name))
    .map((entry) => Number(entry.name))
    .filter((pid) => {
      try {
        // The parent pid is the 4th field, after the command in parentheses.
        const stat = Deno.readTextFileSync(`/proc/${pid}/stat`)
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster
      } catch {
        return false
      }
    })
  return [postmaster, ...children]
}

function signal(pids: readonly number[], name: 'SIGSTOP' | 'SIGCONT'): void {
  for (const pid of pids) {
    try {
      Deno.kill(pid, name)
    } catch {
      // Gone already (a backend that ended).
    }
  }
}

Deno.test({
  name:
    'a server that stops answering (PostgreSQL, or PgBouncer in the pooler lane, stopped with SIGSTOP) -> every route that queries 503 + Retry-After within the budget, 12 at once too, health down; after SIGCONT all as usual without a restart, nothing left half-done',
  ignore: !hasAuthServer,
  async fn() {
    // The lane's path to the database: PostgreSQL itself, or PgBouncer in front of it.
    const pooler = testStack().database === 'direct' ? 'off' : 'transaction'
    const dedicated = await startTestStack({ pooler })
    const stack = dedicated.info
    const figures: string[] = []
    let stopped: number[] = []
    try {
      const user = await createTestUser({ stack })
      const prepared = []
      for (const probe of PROBES) prepared.push({ probe, ...(await probe.prepare(stack, user.id)) })
      await warmUp(stack, user.id)
      // Tokens for sessions no instance has seen: each needs a lookup.
      const burst = await Promise.all(
        Array.from({ length: 12 }, () => tokenFor(stack, user.id, crypto.randomUUID())),
      )
      const log = functionsLogFrom(stack)
      const functionsPid = stack.pids.functions
      stopped = databaseProcesses(stack)
      signal(stopped, 'SIGSTOP')
      const what = stack.pids.pooler !== null ? 'PgBouncer' : 'PostgreSQL'
      for (const { probe, send, token } of prepared) {
        const [response, ms] = await timed(send)
        await assertUnavailable(probe, response, token)
        assert(ms < BUDGET_MS + SLACK_MS, `${probe.name}: 503 after ${Math.round(ms)} ms`)
        figures.push(`${what} stopped: ${probe.name} 503 in ${Math.round(ms)} ms`)
      }
      // More requests than the pool has connections: the wait for one is bounded too.
      const answers = await Promise.all(
        burst.map((token) => timed(send(stack, 'me', requestInit(undefined, token)))),
      )
      for (const [response] of answers) {
        await assertAuthError(response, 'SESSION_DOWN', 'sessionStoreUnavailable')
      }
      const slowest = Math.max(...answers.map(([, ms]) => ms))
      assert(slowest < BUDGET_MS + SLACK_MS, `12 at once: the slowest 503 after ${slowest} ms`)
      figures.push(
        `${what} stopped: 12 concurrent GET /me 503, the slowest in ${Math.round(slowest)} ms`,
      )
      signal(stopped, 'SIGCONT')
      stopped = []
      const resumedAt = performance.now()
      for (const { probe, send } of prepared) {
        // A 503 only while the first connections are made again.
        const { elapsedMs } = await eventually(async () => {
          const [response] = await timed(send)
          if (response.status === probe.ok) return true
          assertEquals(response.status, 503, `${probe.name} after SIGCONT`)
        }, { timeoutMs: 10_000, intervalMs: 100, what: `${probe.name} as usual after SIGCONT` })
        figures.push(`${what} resumed: ${probe.name} ${probe.ok} after ${Math.round(elapsedMs)} ms`)
      }
      figures.push(
        `${what} resumed: all as usual ${
          Math.round(performance.now() - resumedAt)
        } ms after SIGCONT`,
      )
      assertEquals(dedicated.info.pids.functions, functionsPid, 'the functions kept running')
      // No connection of the functions is left inside a statement or a transaction.
      await withAdmin(stack, async (sql) => {
        await eventually(async () => {
          const rows = await sql`
            select state from pg_stat_activity
            where application_name = 'edge-auth' and state <> 'idle'`
          return rows.length === 0
        }, { timeoutMs: 5_000, what: 'no busy connection of the functions' })
      })
      assertNoBugLine(log.lines())
    } finally {
      signal(stopped, 'SIGCONT')
      report(figures)
      await dedicated.dispose()
    }
  },
})

Deno.test({
  name:
    'PgBouncer with no free server connection (its pool held by open transactions) -> every route that queries 503 + Retry-After within the budget, health down; as usual once they end',
  ignore: !hasAuthServer,
  async fn() {
    const dedicated = await startTestStack({ pooler: 'transaction' })
    const stack = dedicated.info
    const figures: string[] = []
    const held: Awaited<ReturnType<typeof holdTransaction>>[] = []
    try {
      const user = await createTestUser({ stack })
      const prepared = []
      for (const probe of PROBES) prepared.push({ probe, ...(await probe.prepare(stack, user.id)) })
      await warmUp(stack, user.id)
      const log = functionsLogFrom(stack)
      // The pooler's default_pool_size (supabase/local/pooler.ts): each open transaction holds
      // one server connection, and a client's next transaction waits for one of them.
      const poolerStack = { ...stack, dbUrl: stack.functionsDbUrl }
      for (let i = 0; i < 10; i++) held.push(await holdTransaction(poolerStack, 'select 1'))
      for (const { probe, send, token } of prepared) {
        const [response, ms] = await timed(send)
        await assertUnavailable(probe, response, token)
        assert(ms < BUDGET_MS + SLACK_MS, `${probe.name}: 503 after ${Math.round(ms)} ms`)
        figures.push(`PgBouncer pool exhausted: ${probe.name} 503 in ${Math.round(ms)} ms`)
      }
      for (const transaction of held.splice(0)) await transaction.release()
      for (const { probe, send } of prepared) {
        await eventually(async () => {
          const [response] = await timed(send)
          if (response.status === probe.ok) return true
          assertEquals(response.status, 503, `${probe.name} once the pool is free`)
        }, { timeoutMs: 10_000, intervalMs: 100, what: `${probe.name} once the pool is free` })
      }
      assertNoBugLine(log.lines())
    } finally {
      for (const transaction of held) await transaction.release()
      report(figures)
      await dedicated.dispose()
    }
  },
})

/** A TCP listener that accepts connections and never says a word. */
function silentListener(): { url: string; close(): Promise<void> } {
  const listener = Deno.listen({ hostname: '127.0.0.1', port: 0 })
  const accepted: Deno.Conn[] = []
  const accepting = (async () => {
    try {
      for await (const connection of listener) accepted.push(connection)
    } catch {
      // Closed.
    }
  })()
  const { port } = listener.addr as Deno.NetAddr
  return {
    url: `postgres://postgres:secret@127.0.0.1:${port}/postgres`,
    async close() {
      listener.close()
      await accepting
      for (const connection of accepted) {
        try {
          connection.close()
        } catch {
          // Closed by the client.
        }
      }
      // Connections still being opened in the background now meet a closed socket and fail.
      await new Promise((resolve) => setTimeout(resolve, 100))
    },
  }
}

Deno.test('a listener that accepts and never answers (fake: no real server does so from the start) -> each query fails with DATABASE_TIMEOUT within its budget (generated budgets), the pool keeps nothing', async () => {
  const silent = silentListener()
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 100, max: 600 }),
        fc.integer({ min: 1, max: 4 }),
        async (budget, concurrent) => {
          const sql = createDatabaseClient(silent.url, { max: 2, timeoutMs: budget })
          try {
            const started = performance.now()
            const failures = await Promise.all(
              Array.from(
                { length: concurrent },
                (_, i) =>
                  (i % 2 === 0 ? sql`select 1` : sql.begin((tx) => tx`select 1`)).then(
                    () => undefined,
                    (error) => [error, performance.now() - started] as const,
                  ),
              ),
            )
            for (const failure of failures) {
              assert(failure !== undefined, 'a query answered by a silent server')
              const [error, ms] = failure
              assertEquals((error as { code?: string }).code, DATABASE_TIMEOUT)
              assert(ms >= budget - 5 && ms < budget + 250, `budget ${budget}: ${ms} ms`)
            }
          } finally {
            await sql.end()
          }
        },
      ),
      { numRuns: 12 },
    )
  } finally {
    await silent.close()
  }
})

Deno.test({
  name:
    'a listener that accepts and never answers -> sessions/revoke, me and health in process 503 + Retry-After within the configured budget (EDGE_AUTH_DB_TIMEOUT_MS), logged as unavailable, never as a bug',
  ignore: !hasAuthServer,
  async fn() {
    const silent = silentListener()
    const budget = 400
    // The instance's own client, as the configuration makes it, shared by the three apps.
    const config = stackConfig({
      SUPABASE_DB_URL: silent.url,
      EDGE_AUTH_DB_TIMEOUT_MS: String(budget),
    })
    const auth = authFromConfig(config)
    const stack = testStack()
    try {
      const token = await tokenFor(stack, crypto.randomUUID(), crypto.randomUUID())
      const requests: [string, () => Response | Promise<Response>][] = [
        [
          'POST /sessions/revoke',
          () =>
            createSessionsApp(config, { auth }).request('/sessions/revoke', {
              method: 'POST',
              headers: { apikey: stack.secretKey, 'Content-Type': 'application/json' },
              body: JSON.stringify({ user_id: crypto.randomUUID() }),
            }),
        ],
        [
          'GET /me',
          () => createMeApp(config, { auth }).request('/me', requestInit(undefined, token)),
        ],
        ['GET /health', () => createHealthApp(config, { auth }).request('/health')],
      ]
      const [, lines] = await capturingErrors(async () => {
        for (const [name, request] of requests) {
          const started = performance.now()
          const response = await request()
          const ms = performance.now() - started
          assertEquals(response.status, 503, `${name}: ${await response.clone().text()}`)
          assert(Number(response.headers.get('Retry-After')) >= 1, `${name}: Retry-After`)
          const body = await response.json()
          if (name === 'GET /health') {
            assertEquals(body, { status: 'degraded', jwks: 'ok', database: 'down' })
          } else {
            assertEquals(body, {
              error: 'temporarily_unavailable',
              error_description: DESCRIPTIONS.sessionStoreUnavailable,
            })
          }
          assert(ms < budget + SLACK_MS, `${name}: 503 after ${Math.round(ms)} ms`)
        }
      })
      assertNoBugLine(lines)
      assert(lines.some((line) => line.includes('temporarily_unavailable')), lines.join('\n'))
      assertEquals(config.dbTimeoutMs, budget)
    } finally {
      await auth.close()
      await silent.close()
    }
  },
})

Deno.test('a statement the budget ended -> its connection is closed, never pooled again: the next query runs at once on another backend, outside any transaction', async () => {
  const sql = createDatabaseClient(testStack().functionsDbUrl, { max: 1, timeoutMs: 500 })
  try {
    let sleeper: number | undefined
    const slow = sql.begin(async (tx) => {
      const [row] =
        await tx`select pg_backend_pid() as pid, set_config('edge_auth.mark', 'x', true)`
      sleeper = row!.pid as number
      await tx`select pg_sleep(3)`
    })
    // Waits for the pool's one connection: bounded by the same budget.
    const waiting = sql`select 1 as one`
    const [slowError, waitingOutcome] = await Promise.all([
      slow.then(() => undefined, (error) => error),
      waiting.then(() => 'answered', (error) => error),
    ])
    assertEquals((slowError as { code?: string }).code, DATABASE_TIMEOUT)
    // The waiting query either timed out waiting or got a fresh connection once the slow one
    // was closed; it never ran behind pg_sleep.
    if (waitingOutcome !== 'answered') {
      assertEquals((waitingOutcome as { code?: string }).code, DATABASE_TIMEOUT)
    }
    const started = performance.now()
    const [row] = await sql`
      select pg_backend_pid() as pid, coalesce(current_setting('edge_auth.mark', true), '') as mark`
    assert(performance.now() - started < 500, 'the next query did not wait for pg_sleep')
    assert(sleeper !== undefined && row!.pid !== sleeper, 'another backend')
    // Not inside the transaction that set it.
    assertEquals(row!.mark, '')
  } finally {
    await sql.end()
  }
})

Deno.test('EDGE_AUTH_DB_TIMEOUT_MS: a whole number of milliseconds from 100 to 10000, default 1500; anything else names the variable', () => {
  assertEquals(stackConfig().dbTimeoutMs, 1_500)
  fc.assert(
    fc.property(fc.integer({ min: 100, max: 10_000 }), (ms) => {
      assertEquals(stackConfig({ EDGE_AUTH_DB_TIMEOUT_MS: String(ms) }).dbTimeoutMs, ms)
    }),
  )
  fc.assert(
    fc.property(
      fc.oneof(
        fc.integer({ min: 0, max: 99 }).map(String),
        fc.integer({ min: 10_001 }).map(String),
        fc.constantFrom('-1', '1.5', '1e3', 'ten', '0x10'),
      ),
      (value) => {
        try {
          stackConfig({ EDGE_AUTH_DB_TIMEOUT_MS: value })
        } catch (error) {
          assertEquals((error as { variable?: string }).variable, 'EDGE_AUTH_DB_TIMEOUT_MS')
          return
        }
        throw new Error(`accepted ${value}`)
      },
    ),
  )
})

// The revoke probe's sessions end with its 204, and only then.
Deno.test({
  name:
    'POST /sessions/revoke with auth.sessions locked -> 503, the sessions are all still there; once released -> 204 and they are gone',
  ignore: !hasAuthServer,
  async fn() {
    const stack = testStack()
    const user = await createTestUser({ stack })
    await insertSessions(stack, user.id, 4)
    const revoke = () =>
      callFunction('sessions/revoke', {
        method: 'POST',
        headers: { apikey: stack.secretKey, 'Content-Type': 'application/json' },
        body: JSON.stringify({ user_id: user.id }),
      }, stack)
    const lock = await holdTransaction(stack, 'lock table auth.sessions in access exclusive mode')
    try {
      const refused = await revoke()
      await assertAuthError(refused, 'SESSION_DOWN', 'sessionStoreUnavailable')
    } finally {
      await lock.release()
    }
    assertEquals(await sessionCount(stack, user.id), 4)
    const done = await revoke()
    assertEquals(done.status, 204, await done.text())
    assertEquals(await sessionCount(stack, user.id), 0)
  },
})

Deno.test({
  name:
    'a revocation backlog too long to read within the budget (50,000 rows since the last poll) -> one GET /me 503 + Retry-After, then the next poll starts afresh: 200 without a restart, and a revoked session is still refused',
  ignore: !hasAuthServer,
  async fn() {
    const stack = testStack()
    // A budget the backlog's page cannot be read in, on the real database.
    const config = stackConfig({ EDGE_AUTH_DB_TIMEOUT_MS: '300' })
    const auth = authFromConfig(config)
    const app = createMeApp(config, { auth })
    const user = await createTestUser({ stack })
    const [kept, revoked] = await insertSessions(stack, user.id, 2)
    const me = (session: string) =>
      tokenFor(stack, user.id, session).then((token) =>
        app.request('/me', requestInit(undefined, token))
      )
    const marker = crypto.randomUUID()
    try {
      // Both answers cached; the instance's watermark is set.
      assertEquals((await me(kept!)).status, 200)
      assertEquals((await me(revoked!)).status, 200)
      await withAdmin(stack, async (sql) => {
        await sql`
          insert into edge_auth.revocations (user_id, reason)
          select ${marker}::uuid, 'user_banned' from generate_series(1, 50000)`
        await sql`delete from auth.sessions where id = ${revoked!}`
      })
      await new Promise((resolve) => setTimeout(resolve, SESSION_TTL_MS + 50))
      const [failed, lines] = await capturingErrors(() => me(kept!))
      await assertAuthError(failed, 'SESSION_DOWN', 'sessionStoreUnavailable')
      assertNoBugLine(lines)
      // The next poll only takes a new watermark and drops what was cached: each answer is
      // asked again.
      assertEquals((await me(kept!)).status, 200)
      const refused = await me(revoked!)
      await assertAuthError(refused, 'BADTOKEN', 'sessionRevoked')
    } finally {
      await withAdmin(
        stack,
        (sql) => sql`delete from edge_auth.revocations where user_id = ${marker}`,
      )
      await auth.close()
    }
  },
})
