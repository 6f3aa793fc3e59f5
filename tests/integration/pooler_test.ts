// The functions' database through PgBouncer in transaction mode, the way hosted functions usually
// reach PostgreSQL, on a stack of this file's own (it stops the pooler). A transaction pooler keeps
// no session state between transactions and hands each transaction to any server connection, so
// these tests prove that the session check, the RLS queries, logout's SQL path and health work
// through it, that nothing the functions do leaves state on a pooled connection, that no named
// prepared statement reaches it, and that a stopped pooler is a 503 with recovery and no restart.
import { assert, assertEquals, assertNotEquals } from '@std/assert'
import { decodeJwt } from 'jose'
import postgres from 'postgres'
import { assertAuthError, assertMe } from '../_helpers/assert_auth.ts'
import { eventually } from '../_helpers/poll.ts'
import {
  callFunction,
  createTestUser,
  type DedicatedStack,
  expiredTokenFor,
  hasAuthServer,
  loginUser,
  requestInit,
  stackControl,
  startTestStack,
  type TestStack,
} from '../_helpers/stack.ts'

const ignore = !hasAuthServer
/** The functions' session cache TTL (their default): how long a "live" answer is reused. */
const SESSION_TTL_MS = 1000

/** Runs `work` on a one-connection client straight to PostgreSQL (not through the pooler). */
async function direct<T>(stack: TestStack, work: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(stack.dbUrl, { max: 1, onnotice: () => {} })
  try {
    return await work(sql)
  } finally {
    await sql.end()
  }
}

async function liveSessions(stack: TestStack, userId: string): Promise<number> {
  return await direct(stack, async (sql) => {
    const [row] = await sql`select count(*)::int as n from auth.sessions where user_id = ${userId}`
    return row!.n as number
  })
}

/**
 * Named prepared statements the server executed for `application` since the log offset, read
 * from PostgreSQL's own log with `log_statement = all`: the extended protocol logs
 * `execute <unnamed>: ...` for an unnamed statement and `execute <name>: ...` for a named one.
 */
function executedStatements(logFile: string, from: number, application: string) {
  const text = Deno.readTextFileSync(logFile).slice(from)
  const lines = text.split('\n').filter((line) => line.includes(`app=${application} `))
  const executes = lines.map((line) => /\bexecute ([^:]+):/.exec(line)?.[1]).filter((name) =>
    name !== undefined
  )
  return {
    unnamed: executes.filter((name) => name === '<unnamed>').length,
    named: executes.filter((name) => name !== '<unnamed>'),
  }
}

Deno.test({
  name:
    'through PgBouncer (transaction mode): session check, RLS notes, logout SQL path and health work; no state left on pooled connections; no named prepared statement reaches it',
  ignore,
  async fn(t) {
    const dedicated: DedicatedStack = await startTestStack({ pooler: 'transaction' })
    const stack = dedicated.info
    const logFile = `${stack.stateDir}/pg/postgres.log`
    try {
      await t.step('the functions connect to the pooler, not to PostgreSQL', () => {
        assertEquals(stack.database, 'pgbouncer-transaction')
        const port = Number(new URL(stack.functionsDbUrl).port)
        assertEquals(port, stack.ports.pooler)
        assertNotEquals(port, stack.ports.postgres)
      })

      // Every statement PostgreSQL executes is logged from here on, with its application name.
      await direct(stack, async (sql) => {
        await sql`alter system set log_statement = 'all'`
        await sql`alter system set log_line_prefix = '%m [%p] app=%a '`
        await sql`select pg_reload_conf()`
      })
      const logStart = Deno.statSync(logFile).size

      const alice = await createTestUser({ stack })
      const bob = await createTestUser({ stack })
      const aliceSession = await loginUser(alice, stack)
      const bobSession = await loginUser(bob, stack)

      await t.step('GET /me (session-checked) -> 200 for a live session', async () => {
        const claims = decodeJwt(aliceSession.access_token)
        const response = await callFunction(
          'me',
          requestInit(undefined, aliceSession.access_token),
          stack,
        )
        await assertMe(response, aliceSession.access_token, {
          sub: claims.sub,
          session_id: claims.session_id,
        })
      })

      await t.step('notes under RLS: each user sees only their own rows', async () => {
        // Interleaved, so consecutive transactions of both users share the pool's server
        // connections: claims left behind by one transaction would show the other's rows.
        for (let round = 0; round < 5; round++) {
          for (const [session, body] of [[aliceSession, 'alice'], [bobSession, 'bob']] as const) {
            const created = await callFunction(
              'notes',
              requestInit({ body: `${body} ${round}` }, session.access_token),
              stack,
            )
            assertEquals(created.status, 201, await created.text())
          }
        }
        for (const [session, owner] of [[aliceSession, 'alice'], [bobSession, 'bob']] as const) {
          const listed = await callFunction(
            'notes?limit=20',
            requestInit(undefined, session.access_token),
            stack,
          )
          const text = await listed.text()
          assertEquals(listed.status, 200, text)
          const notes = (JSON.parse(text) as { notes: { body: string }[] }).notes
          assertEquals(
            notes.map((note) => note.body).sort(),
            [0, 1, 2, 3, 4].map((n) => `${owner} ${n}`),
          )
        }
      })

      await t.step('a pooled connection keeps no role or claims after a request', async () => {
        const pooled = postgres(stack.functionsDbUrl, { max: 1, prepare: false, onnotice() {} })
        try {
          for (let i = 0; i < 10; i++) {
            const [row] = await pooled`
              select current_user as role,
                     coalesce(current_setting('request.jwt.claims', true), '') as claims`
            assertEquals(row, { role: 'postgres', claims: '' })
          }
        } finally {
          await pooled.end()
        }
      })

      await t.step('GET /health -> 200 {"status":"ok"} through the pooler', async () => {
        const response = await callFunction('health', {}, stack)
        assertEquals(response.status, 200)
        assertEquals(await response.json(), { status: 'ok' })
      })

      await t.step(
        'logout with an expired token (the SQL path) -> 204, the session ends',
        async () => {
          const expired = await expiredTokenFor(bobSession.access_token, stack)
          assertEquals(await liveSessions(stack, bob.id), 1)
          const response = await callFunction(
            'logout?scope=local',
            requestInit(undefined, expired, 'POST'),
            stack,
          )
          assertEquals(response.status, 204, await response.text())
          assertEquals(await liveSessions(stack, bob.id), 0)
        },
      )

      await t.step('no named prepared statement reached the pooler', async () => {
        const seen = executedStatements(logFile, logStart, 'edge-auth')
        // The log does show the functions' statements: the check is not vacuous.
        assert(seen.unnamed > 10, `unnamed statements of the functions logged: ${seen.unnamed}`)
        assertEquals(seen.named, [])
        // And it would see a named one: a client that prepares statements, through the pooler.
        const preparing = postgres(stack.functionsDbUrl, {
          max: 1,
          prepare: true,
          onnotice() {},
          connection: { application_name: 'prepare-probe' },
        })
        try {
          await preparing`select ${1}::int as one`
        } finally {
          await preparing.end()
        }
        // The log is written asynchronously: poll until the probe's statement is in it.
        await eventually(
          () => executedStatements(logFile, logStart, 'prepare-probe').named.length > 0,
          { timeoutMs: 5_000, what: "the probe's named statement is recognised in the log" },
        )
      })
    } finally {
      await dedicated.dispose()
    }
  },
})

Deno.test({
  name:
    'PgBouncer stopped -> me, notes and logout 503 + Retry-After, health 503 database down; started again -> 200 without restarting the functions',
  ignore,
  async fn() {
    const dedicated = await startTestStack({ pooler: 'transaction' })
    try {
      const stack = dedicated.info
      const user = await createTestUser({ stack })
      const session = await loginUser(user, stack)
      const token = session.access_token
      const functionsPid = stack.pids.functions
      const claims = decodeJwt(token)
      const ids = { sub: claims.sub, session_id: claims.session_id }
      await assertMe(await callFunction('me', requestInit(undefined, token), stack), token, ids)

      await stackControl('pooler/stop', undefined, stack)
      try {
        // The session check's cached "live" answer (asked before the stop) lasts 1 s, so a 200
        // only for a request sent within it; every answer after that is 503.
        const stoppedAt = performance.now()
        const { value: refused } = await eventually(async () => {
          const sentAt = performance.now()
          const response = await callFunction('me', requestInit(undefined, token), stack)
          if (response.status !== 200) return response
          await response.body?.cancel()
          const late = sentAt - stoppedAt
          assert(late < SESSION_TTL_MS, `200 for a request sent ${Math.round(late)} ms after`)
        }, {
          timeoutMs: SESSION_TTL_MS + 3_000,
          since: stoppedAt,
          what: 'me fails closed once its cached "live" answer lapses',
        })
        await assertAuthError(refused, 'SESSION_DOWN', 'sessionStoreUnavailable', [token])
        await assertAuthError(
          await callFunction('me', requestInit(undefined, token), stack),
          'SESSION_DOWN',
          'sessionStoreUnavailable',
          [token],
        )
        const notes = await callFunction('notes', requestInit(undefined, token), stack)
        await assertAuthError(notes, 'SESSION_DOWN', 'sessionStoreUnavailable', [token])
        const health = await callFunction('health', {}, stack)
        assertEquals(health.status, 503)
        assert(Number(health.headers.get('Retry-After')) >= 1)
        assertEquals(await health.json(), { status: 'degraded', jwks: 'ok', database: 'down' })
        const expired = await expiredTokenFor(token, stack)
        await assertAuthError(
          await callFunction('logout', requestInit(undefined, expired, 'POST'), stack),
          'SESSION_DOWN',
          'sessionStoreUnavailable',
          [expired],
        )
      } finally {
        await stackControl('pooler/start', undefined, stack)
      }

      // Reconnecting takes a moment: only 503 until the first 200.
      const { value: recovered } = await eventually(async () => {
        const response = await callFunction('me', requestInit(undefined, token), stack)
        if (response.status === 200) return response
        await assertAuthError(response, 'SESSION_DOWN', 'sessionStoreUnavailable', [token])
      }, {
        timeoutMs: 10_000,
        intervalMs: 100,
        what: 'me answers 200 again after PgBouncer restarts',
      })
      await assertMe(recovered, token, ids)
      const health = await callFunction('health', {}, stack)
      assertEquals([health.status, await health.json()], [200, { status: 'ok' }])
      assertEquals(health.headers.get('Retry-After'), null)
      assertEquals(dedicated.info.pids.functions, functionsPid, 'the functions host kept running')
    } finally {
      await dedicated.dispose()
    }
  },
})
