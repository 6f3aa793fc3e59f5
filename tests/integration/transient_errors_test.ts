// What is transient is 503, never 500. A deadlock (40P01), a serialization failure (40001), a
// cancelled statement (57014), a lock timeout (55P03), too many connections (53300) and the other
// "not now" failures of the database reach the caller of every route that queries as 503
// `temporarily_unavailable` with Retry-After, logged as an outage, never as a bug; a deadlock or
// serialization failure is repeated once first; and the two statements that end sessions take
// their locks in one order, so that run together they never deadlock. Real PostgreSQL produces
// each class where it can (a real deadlock, pg_cancel_backend, lock_timeout, a connection limit),
// through PgBouncer in the pooler lane; a fake database only for what the real one cannot be made
// to answer at that point.
import { assert, assertEquals } from '@std/assert'
import fc from 'fast-check'
import postgres from 'postgres'
import { DESCRIPTIONS } from '../../functions/_shared/core/errors.ts'
import { createDatabaseClient, type Sql } from '../../functions/_shared/db/database.ts'
import { DatabaseTimeoutError } from '../../functions/_shared/db/database_errors.ts'
import type { AppDeps } from '../../functions/_shared/auth/from_env.ts'
import type { Config } from '../../functions/_shared/core/config.ts'
import { createHealthApp } from '../../functions/health/app.ts'
import { createLogoutApp } from '../../functions/logout/app.ts'
import { createMeApp } from '../../functions/me/app.ts'
import { createNotesApp } from '../../functions/notes/app.ts'
import { createSessionsApp } from '../../functions/sessions/app.ts'
import {
  assertNoBugLine,
  functionsLogFrom,
  holdTransaction,
  insertSessions,
  lockWaiter,
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
  type TestStack,
  testStack,
} from '../_helpers/stack.ts'

const ignore = !hasAuthServer

/** Asserts the 503 of a route: status, JSON body, Retry-After from 1 to 5 s, no challenge. */
async function assertTransient(
  response: Response,
  description: 'sessionStoreUnavailable' | 'databaseUnavailable' | 'health',
  what: string,
): Promise<void> {
  const text = await response.text()
  assertEquals(response.status, 503, `${what}: ${text}`)
  assertEquals(response.headers.get('Content-Type'), 'application/json', what)
  assertEquals(response.headers.get('WWW-Authenticate'), null, what)
  const retryAfter = Number(response.headers.get('Retry-After'))
  assert(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 5, `${what}: Retry-After`)
  assertEquals(
    JSON.parse(text),
    description === 'health'
      ? { status: 'degraded', jwks: 'ok', database: 'down' }
      : { error: 'temporarily_unavailable', error_description: DESCRIPTIONS[description] },
    what,
  )
}

function revokeInit(stack: TestStack, userId: string): RequestInit {
  return {
    method: 'POST',
    headers: { apikey: stack.secretKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ user_id: userId }),
  }
}

// ---------------------------------------------------------------------------------------------
// The lock order of the two statements that end sessions.

/** The definitions before the lock order was fixed, under other names, for the control run. */
const OLD_DEFINITIONS = (schema: string) => `
  create schema ${schema};
  create function ${schema}.end_sessions(p_user_id uuid, p_session_id uuid, p_scope text)
  returns integer language plpgsql volatile set search_path = '' as $$
  declare ended integer;
  begin
    perform 1 from auth.sessions s where s.id = p_session_id and s.user_id = p_user_id for update;
    if not found then return 0; end if;
    delete from auth.sessions s where s.user_id = p_user_id;
    get diagnostics ended = row_count;
    return ended;
  end;
  $$;
  create function ${schema}.revoke_user_sessions(p_user_id uuid)
  returns setof uuid language sql volatile set search_path = '' as $$
    delete from auth.sessions s where s.user_id = p_user_id returning s.id;
  $$;`

/** The most rounds the control (the old lock order) may take to show its deadlock. */
const CONTROL_ROUNDS = 150

/** Sessions per round: enough that a scan takes long enough for the other statement to cut in. */
const RACE_SESSIONS = 1_000

/**
 * Runs the revoke and the end-sessions statement of the same user at the same moment, from two
 * connections straight to PostgreSQL (no retry hides a deadlock), `rounds` times or until
 * `enough` deadlocks, each round with {@linkcode RACE_SESSIONS} fresh sessions; the caller's own
 * session is the last in id order, the one a scan reaches last.
 *
 * @returns how many deadlocks; every other error fails the test
 */
async function raceEndings(
  stack: TestStack,
  userId: string,
  names: { revoke: string; end: string },
  rounds: number,
  enough = Infinity,
): Promise<number> {
  const a = postgres(stack.dbUrl, { max: 1, onnotice: () => {} })
  const b = postgres(stack.dbUrl, { max: 1, onnotice: () => {} })
  let deadlocks = 0
  try {
    // Both connections open before the first round: the two statements start together.
    await Promise.all([a`select 1`, b`select 1`])
    for (let round = 0; round < rounds && deadlocks < enough; round++) {
      const ids = await insertSessions(stack, userId, RACE_SESSIONS)
      const own = ids.at(-1)!
      const outcomes = await Promise.allSettled([
        a.unsafe(`select ${names.revoke}($1::uuid)`, [userId]),
        b.unsafe(`select ${names.end}($1::uuid, $2::uuid, 'global')`, [userId, own]),
      ])
      for (const outcome of outcomes) {
        if (outcome.status === 'fulfilled') continue
        const code = (outcome.reason as { code?: string }).code
        assertEquals(code, '40P01', `round ${round}: ${outcome.reason}`)
        deadlocks++
      }
      // Whatever the order, the user has no session left (a deadlock's survivor ended them).
      assertEquals(await sessionCount(stack, userId), 0, `round ${round}`)
    }
  } finally {
    await a.end()
    await b.end()
  }
  return deadlocks
}

Deno.test({
  name:
    'sessions/revoke and an expired-token logout of one user at the same moment, 20 rounds of 1000 sessions (straight SQL, no retry) -> never a deadlock, no session left; the old lock order deadlocks in the same harness (within 150 rounds)',
  ignore,
  async fn() {
    const stack = testStack()
    const user = await createTestUser({ stack })
    const schema = `lock_order_control_${crypto.randomUUID().slice(0, 8)}`
    await withAdmin(stack, (sql) => sql.unsafe(OLD_DEFINITIONS(schema)))
    let control: number
    try {
      control = await raceEndings(
        stack,
        user.id,
        { revoke: `${schema}.revoke_user_sessions`, end: `${schema}.end_sessions` },
        // A loaded machine may interleave the two less often: rounds until the first deadlock.
        CONTROL_ROUNDS,
        1,
      )
    } finally {
      await withAdmin(stack, (sql) => sql.unsafe(`drop schema ${schema} cascade`))
    }
    assert(control > 0, 'the harness could not make the old lock order deadlock')
    const deadlocks = await raceEndings(
      stack,
      user.id,
      { revoke: 'public.auth_revoke_user_sessions', end: 'public.auth_end_sessions' },
      20,
    )
    assertEquals(deadlocks, 0)
    console.log(`transient: old lock order deadlocked (${control}); new: 0 deadlocks in 20 rounds`)
  },
})

Deno.test({
  name:
    'POST /sessions/revoke and POST /logout with an expired token (scope global) of one user at the same moment, 25 rounds -> both 204 every time, never 500, the sessions are gone after each',
  ignore,
  async fn() {
    const stack = testStack()
    const user = await createTestUser({ stack })
    const log = functionsLogFrom(stack)
    for (let round = 0; round < 25; round++) {
      const ids = await insertSessions(stack, user.id, 20)
      const expired = await tokenFor(stack, user.id, ids.at(-1)!, true)
      const [revoked, loggedOut] = await Promise.all([
        callFunction('sessions/revoke', revokeInit(stack, user.id), stack),
        callFunction('logout', requestInit(undefined, expired, 'POST'), stack),
      ])
      assertEquals(revoked.status, 204, `round ${round}: revoke ${await revoked.text()}`)
      assertEquals(loggedOut.status, 204, `round ${round}: logout ${await loggedOut.text()}`)
      assertEquals(await sessionCount(stack, user.id), 0, `round ${round}`)
    }
    assertNoBugLine(log.lines())
  },
})

// ---------------------------------------------------------------------------------------------
// Real deadlocks with the function as the victim, once (repeated: 204) and twice (503).

/** Lines of PostgreSQL's log from now on. */
function postgresLogFrom(stack: TestStack): () => string[] {
  const file = `${stack.stateDir}/pg/postgres.log`
  const from = Deno.statSync(file).size
  return () => new TextDecoder().decode(Deno.readFileSync(file).subarray(from)).split('\n')
}

const ENDING_ROUTES = [
  { name: 'POST /sessions/revoke', fragment: 'auth_revoke_user_sessions' },
  { name: 'POST /logout with an expired token (scope global)', fragment: 'auth_end_sessions' },
] as const

for (const route of ENDING_ROUTES) {
  for (const times of [1, 2] as const) {
    Deno.test({
      name: times === 1
        ? `${route.name} chosen as a real deadlock's victim once -> repeated inside the function: 204, the sessions are gone`
        : `${route.name} chosen as a real deadlock's victim twice -> 503 + Retry-After, never 500, the sessions are still there; asked again -> 204, gone`,
      ignore,
      async fn() {
        const stack = testStack()
        const user = await createTestUser({ stack })
        const [s0, s1, s2] = await insertSessions(stack, user.id, 3)
        const expired = await tokenFor(stack, user.id, s0!, true)
        const send = () =>
          route.fragment === 'auth_revoke_user_sessions'
            ? callFunction('sessions/revoke', revokeInit(stack, user.id), stack)
            : callFunction('logout', requestInit(undefined, expired, 'POST'), stack)
        const log = functionsLogFrom(stack)
        const pgLog = postgresLogFrom(stack)
        // Another transaction that never checks for deadlocks itself: the function's backend,
        // which checks after deadlock_timeout (1 s), finds each one and is its victim.
        const other = await holdTransaction(
          stack,
          `set local deadlock_timeout = '60s'`,
          `select 1 from auth.sessions where id = '${s2}' for update`,
        )
        const deadlocks = () => pgLog().filter((line) => line.includes('deadlock detected')).length
        const deadlocked = (count: number) =>
          eventually(() => deadlocks() >= count, {
            timeoutMs: 5_000,
            intervalMs: 10,
            what: `${count} deadlock(s) in PostgreSQL's log`,
          })
        let response: Promise<Response>
        try {
          response = send()
          // The function locked s0 and s1 (id order) and waits for s2.
          await lockWaiter(stack, route.fragment)
          // Now the other waits for s1: a cycle, and the function gives way (its check comes
          // after deadlock_timeout, before its lock_timeout).
          const closing = other.run(`select 1 from auth.sessions where id = '${s1}' for update`)
            .then(() => undefined, (error: unknown) => error)
          await deadlocked(1)
          if (times === 1) {
            // The other gives up at once: the function's second attempt meets no cycle.
            await withAdmin(stack, (sql) => sql`select pg_cancel_backend(${other.pid})`)
            await closing
          } else {
            const failed = await closing
            if (failed !== undefined) throw failed
            // The second attempt may have taken s1 before the other did, and given way again;
            // else it holds s0 and waits for s1: the other asks for s0.
            if (deadlocks() < 2) {
              await lockWaiter(stack, route.fragment)
              await other.run(`select 1 from auth.sessions where id = '${s0}' for update`)
            }
          }
        } finally {
          await other.release()
        }
        const answer = await response
        await deadlocked(times)
        assertEquals(deadlocks(), times)
        if (times === 1) {
          assertEquals(answer.status, 204, await answer.text())
          assertEquals(await sessionCount(stack, user.id), 0)
        } else {
          await assertTransient(answer, 'sessionStoreUnavailable', route.name)
          assertEquals(await sessionCount(stack, user.id), 3)
          const again = await send()
          assertEquals(again.status, 204, await again.text())
          assertEquals(await sessionCount(stack, user.id), 0)
        }
        assertNoBugLine(log.lines())
      },
    })
  }
}

// ---------------------------------------------------------------------------------------------
// 57014 and 55P03 from the real server, through the real functions.

/** A request of a route that waits for a lock, and which lock makes it wait. */
interface Waiter {
  name: string
  /** What holds the lock, in another transaction. */
  lock: (ids: { user: string; sessions: string[]; note: string }) => string
  /** A piece of the waiting statement's text, to find its backend. */
  fragment: string
  send(stack: TestStack, ids: { user: string; sessions: string[]; note: string }): Promise<Response>
  description: 'sessionStoreUnavailable' | 'databaseUnavailable' | 'health'
}

const TABLE_LOCK = (table: string) => () => `lock table ${table} in access exclusive mode`

const CANCELLED: readonly Waiter[] = [
  {
    name: 'GET /me (its session lookup)',
    lock: TABLE_LOCK('auth.sessions'),
    fragment: 'auth_session_lookup',
    async send(stack, ids) {
      const token = await tokenFor(stack, ids.user, ids.sessions[0]!)
      return await callFunction('me', requestInit(undefined, token), stack)
    },
    description: 'sessionStoreUnavailable',
  },
  {
    name: 'GET /notes',
    lock: TABLE_LOCK('public.notes'),
    fragment: 'public.notes',
    async send(stack, ids) {
      const token = await tokenFor(stack, ids.user, ids.sessions[1]!)
      return await callFunction('notes', requestInit(undefined, token), stack)
    },
    description: 'databaseUnavailable',
  },
  {
    name: 'POST /notes',
    lock: TABLE_LOCK('public.notes'),
    fragment: 'public.notes',
    async send(stack, ids) {
      const token = await tokenFor(stack, ids.user, ids.sessions[1]!)
      return await callFunction('notes', requestInit({ body: 'cancelled' }, token), stack)
    },
    description: 'databaseUnavailable',
  },
  {
    name: 'POST /logout with an expired token',
    lock: TABLE_LOCK('auth.sessions'),
    fragment: 'auth_end_sessions',
    async send(stack, ids) {
      const token = await tokenFor(stack, ids.user, ids.sessions[2]!, true)
      return await callFunction('logout', requestInit(undefined, token, 'POST'), stack)
    },
    description: 'sessionStoreUnavailable',
  },
  {
    name: 'POST /sessions/revoke',
    lock: TABLE_LOCK('auth.sessions'),
    fragment: 'auth_revoke_user_sessions',
    send: (stack, ids) => callFunction('sessions/revoke', revokeInit(stack, ids.user), stack),
    description: 'sessionStoreUnavailable',
  },
  {
    name: 'GET /health',
    lock: TABLE_LOCK('auth.sessions'),
    fragment: 'auth_session_lookup',
    send: (stack) => callFunction('health', {}, stack),
    description: 'health',
  },
]

/** A user with sessions and a note of their own. */
async function subject(stack: TestStack) {
  const user = await createTestUser({ stack })
  const sessions = await insertSessions(stack, user.id, 3)
  const note = await withAdmin(stack, async (sql) => {
    const [row] = await sql`
      insert into public.notes (user_id, body) values (${user.id}, 'locked') returning id`
    return String(row!.id)
  })
  return { user: user.id, sessions, note }
}

Deno.test({
  name:
    'a statement of each route cancelled by pg_cancel_backend while it waits (57014) -> me, notes, logout, sessions/revoke and health 503 + Retry-After at once, never 500, no bug logged',
  ignore,
  async fn() {
    const stack = testStack()
    const log = functionsLogFrom(stack)
    const figures: string[] = []
    for (const waiter of CANCELLED) {
      const ids = await subject(stack)
      const lock = await holdTransaction(stack, waiter.lock(ids))
      try {
        const started = performance.now()
        const response = waiter.send(stack, ids)
        const pid = await lockWaiter(stack, waiter.fragment)
        const cancelled = await withAdmin(stack, async (sql) => {
          const [row] = await sql`select pg_cancel_backend(${pid}) as ok`
          return row!.ok as boolean
        })
        assert(cancelled, `${waiter.name}: pg_cancel_backend`)
        await assertTransient(await response, waiter.description, waiter.name)
        const ms = performance.now() - started
        // Before the lock timeout (1.2 s) could have ended it: the cancel did.
        assert(ms < 1_150, `${waiter.name}: answered ${Math.round(ms)} ms after it was sent`)
        figures.push(`${waiter.name} cancelled: 503 ${Math.round(ms)} ms after it was sent`)
      } finally {
        await lock.release()
      }
    }
    assertNoBugLine(log.lines())
    console.log(figures.map((line) => `transient: ${line}`).join('\n'))
  },
})

Deno.test({
  name:
    "rows locked by another transaction (select … for update) past the functions' lock_timeout (55P03) -> sessions/revoke, logout and DELETE /notes/:id 503 + Retry-After, never 500; me and GET /notes, which read without row locks, 200; once released -> 204 and the rows are gone",
  ignore,
  async fn() {
    const stack = testStack()
    const log = functionsLogFrom(stack)
    const ids = await subject(stack)
    const live = await tokenFor(stack, ids.user, ids.sessions[0]!)
    const expired = await tokenFor(stack, ids.user, ids.sessions[2]!, true)
    // In this order afterwards: the note's delete needs a live session, the logout ends them all.
    const requests = {
      delete: () =>
        callFunction(`notes/${ids.note}`, requestInit(undefined, live, 'DELETE'), stack),
      logout: () => callFunction('logout', requestInit(undefined, expired, 'POST'), stack),
      revoke: () => callFunction('sessions/revoke', revokeInit(stack, ids.user), stack),
    }
    const rows = await holdTransaction(
      stack,
      `select 1 from auth.sessions where user_id = '${ids.user}' for update`,
      `select 1 from public.notes where id = '${ids.note}' for update`,
    )
    try {
      // Readers pass: a row lock blocks writers only.
      assertEquals((await callFunction('me', requestInit(undefined, live), stack)).status, 200)
      const listed = await callFunction('notes', requestInit(undefined, live), stack)
      assertEquals(listed.status, 200, await listed.text())
      for (const [name, send] of Object.entries(requests)) {
        const started = performance.now()
        const response = await send()
        const ms = performance.now() - started
        const description = name === 'delete' ? 'databaseUnavailable' : 'sessionStoreUnavailable'
        await assertTransient(response, description, name)
        // After the lock timeout (1.2 s), not before, and within the budget.
        assert(ms >= 1_150 && ms < 2_500, `${name}: 503 after ${Math.round(ms)} ms`)
      }
    } finally {
      await rows.release()
    }
    assertEquals(await sessionCount(stack, ids.user), 3, 'nothing ended while locked')
    for (const [name, send] of Object.entries(requests)) {
      const response = await send()
      assertEquals(response.status, 204, `${name}: ${await response.text()}`)
    }
    assertEquals(await sessionCount(stack, ids.user), 0)
    const left = await withAdmin(
      stack,
      (sql) => sql`select 1 from public.notes where id = ${ids.note}`,
    )
    assertEquals(left.length, 0)
    assertNoBugLine(log.lines())
  },
})

// ---------------------------------------------------------------------------------------------
// 53300 from the real server: a role allowed no connection.

Deno.test({
  name:
    'too many connections for the role (53300, a real connection limit) -> me, notes, logout, sessions/revoke and health in process 503 + Retry-After, never 500, no bug logged',
  ignore,
  async fn() {
    const stack = testStack()
    const role = `edge_auth_no_connection_${crypto.randomUUID().slice(0, 8)}`
    const password = crypto.randomUUID()
    await withAdmin(
      stack,
      (sql) => sql.unsafe(`create role ${role} login password '${password}' connection limit 0`),
    )
    // Straight to PostgreSQL in both lanes: the pooler knows only the stack's own user.
    const url = new URL(stack.dbUrl)
    url.username = role
    url.password = password
    const config = stackConfig({ SUPABASE_DB_URL: url.href })
    // The client the configuration makes, shared by every app built here and closed at the end.
    const sql = createDatabaseClient(url.href, { timeoutMs: config.dbTimeoutMs })
    try {
      const ids = await subject(stack)
      const [, lines] = await capturingErrors(async () => {
        const deps = { database: () => sql }
        for (const [name, description, request] of inProcessRoutes(config, deps, ids)) {
          await assertTransient(await request(), description, `${name} (53300)`)
        }
      })
      assertNoBugLine(lines)
      assert(lines.some((line) => line.includes('53300')), `the cause is logged: ${lines}`)
    } finally {
      await sql.end()
      await withAdmin(stack, (admin) => admin.unsafe(`drop role ${role}`))
    }
  },
})

// ---------------------------------------------------------------------------------------------
// Every transient class on every route, from a fake database for what the real one cannot be
// made to answer there (a serialization failure in a read-committed statement, out of memory,
// a crash shutdown mid-statement).

type Ids = { user: string; sessions: string[]; note: string }
type Route = [
  string,
  'sessionStoreUnavailable' | 'databaseUnavailable' | 'health',
  () => Promise<Response>,
]

/**
 * Each route that queries, in process, on `config` and `deps`; notes with a session store that
 * says "live", so that its own transaction is what meets the database.
 */
function inProcessRoutes(config: Config, deps: AppDeps, ids: Ids): Route[] {
  const stack = testStack()
  const token = (index: number, expired = false) =>
    tokenFor(stack, ids.user, ids.sessions[index]!, expired)
  const live = () => Promise.resolve('live' as const)
  return [
    [
      'GET /me',
      'sessionStoreUnavailable',
      async () =>
        await createMeApp(config, deps).request('/me', requestInit(undefined, await token(0))),
    ],
    [
      'GET /notes',
      'databaseUnavailable',
      async () =>
        await createNotesApp(config, { ...deps, sessionStore: live }).request(
          '/notes',
          requestInit(undefined, await token(1)),
        ),
    ],
    [
      'POST /notes',
      'databaseUnavailable',
      async () =>
        await createNotesApp(config, { ...deps, sessionStore: live }).request(
          '/notes',
          requestInit({ body: 'x' }, await token(1)),
        ),
    ],
    [
      'DELETE /notes/:id',
      'databaseUnavailable',
      async () =>
        await createNotesApp(config, { ...deps, sessionStore: live }).request(
          `/notes/${ids.note}`,
          requestInit(undefined, await token(1), 'DELETE'),
        ),
    ],
    [
      'POST /logout with an expired token',
      'sessionStoreUnavailable',
      async () =>
        await createLogoutApp(config, deps).request(
          '/logout',
          requestInit(undefined, await token(2, true), 'POST'),
        ),
    ],
    [
      'POST /sessions/revoke',
      'sessionStoreUnavailable',
      async () =>
        await createSessionsApp(config, deps).request(
          '/sessions/revoke',
          revokeInit(stack, ids.user),
        ),
    ],
    ['GET /health', 'health', async () => await createHealthApp(config, deps).request('/health')],
  ]
}

/** A database whose every statement fails with `error()`, counting the attempts. */
function failingDatabase(error: () => unknown): { database: () => Sql; attempts(): number } {
  let attempts = 0
  const fail = () => {
    attempts++
    return Promise.reject(error())
  }
  const sql = Object.assign(fail, {
    begin: fail,
    end: () => Promise.resolve(),
    fragment: () => ({}),
    unsafe: () => ({}),
    timeoutMs: 1_500,
  }) as unknown as Sql
  return { database: () => sql, attempts: () => attempts }
}

/** The error postgres.js throws for a code: a server's SQLSTATE or the client's own. */
function errorFor(code: string): unknown {
  if (code === 'DATABASE_TIMEOUT') return new DatabaseTimeoutError(1_500)
  if (/^[A-Z_]+$/.test(code) && code.length > 5) {
    // A connection failure: a plain Error carrying the code, as postgres.js and the socket make it.
    return Object.assign(new Error(`write ${code} 127.0.0.1:5432`), { code, errno: code })
  }
  return new postgres.PostgresError(
    { code, severity: 'ERROR', message: 'fake' } as unknown as string,
  )
}

const NAMED_TRANSIENT = [
  '40001',
  '40P01',
  '55P03',
  '57014',
  '53000',
  '53100',
  '53200',
  '53300',
  '53400',
  '57P01',
  '57P02',
  '57P03',
  '57P05',
  '08000',
  '08003',
  '08006',
  '08P01',
  'DATABASE_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
]
/** Repeated once by the client: the server rolled the work back, or never got it. */
const REPEATED = new Set(['40001', '40P01', 'CONNECTION_CLOSED'])

/** Any SQLSTATE of class 08 (connection exception) or 53 (insufficient resources). */
const generatedTransient = fc.tuple(
  fc.constantFrom('08', '53'),
  fc.stringMatching(/^[0-9A-Z]{3}$/),
).map(([cls, rest]) => cls + rest)

Deno.test({
  name:
    'every transient database failure (named SQLSTATEs, generated codes of classes 08 and 53, client timeouts and closed connections) on every route that queries -> 503 + Retry-After + JSON body, never 500, logged as an outage, never as a bug; a deadlock, serialization failure or closed connection is tried twice, the others once',
  ignore,
  async fn() {
    const stack = testStack()
    const jwks = await (await fetch(stack.jwksUrl)).json()
    const config = stackConfig({ SUPABASE_JWKS: JSON.stringify(jwks) })
    const ids = await subject(stack)
    const cases = [...NAMED_TRANSIENT, ...fc.sample(generatedTransient, 20)]
    let checked = 0
    for (const code of cases) {
      for (const [name, description] of inProcessRoutes(config, {}, ids)) {
        const failing = failingDatabase(() => errorFor(code))
        const route = inProcessRoutes(config, { database: failing.database }, ids)
          .find(([other]) => other === name)!
        const [response, lines] = await capturingErrors(() => route[2]())
        await assertTransient(response, description, `${name} (${code})`)
        assertNoBugLine(lines)
        const expected = REPEATED.has(code) ? 2 : 1
        assertEquals(failing.attempts(), expected, `${name} (${code}): attempts`)
        checked++
      }
    }
    assert(checked >= 7 * 40, `${checked} cases`)
  },
})

Deno.test({
  name:
    'a deadlock or serialization failure once, then success -> sessions/revoke and logout 204 (repeated inside the function)',
  ignore,
  async fn() {
    const stack = testStack()
    const jwks = await (await fetch(stack.jwksUrl)).json()
    const config = stackConfig({ SUPABASE_JWKS: JSON.stringify(jwks) })
    const ids = await subject(stack)
    for (const code of ['40P01', '40001']) {
      for (const name of ['POST /logout with an expired token', 'POST /sessions/revoke']) {
        let attempts = 0
        const sql = Object.assign(
          () => ++attempts === 1 ? Promise.reject(errorFor(code)) : Promise.resolve([]),
          { timeoutMs: 1_500 },
        ) as unknown as Sql
        const route = inProcessRoutes(config, { database: () => sql }, ids)
          .find(([other]) => other === name)!
        const response = await route[2]()
        assertEquals(response.status, 204, `${name} (${code}): ${await response.text()}`)
        assertEquals(attempts, 2, `${name} (${code})`)
      }
    }
  },
})

Deno.test({
  name:
    'a failure that is not transient (a missing function or table, no privilege, a violated constraint, an internal error) -> still 500 server_error on sessions/revoke, logout and notes: 503 is not a blanket',
  ignore,
  async fn() {
    const stack = testStack()
    const jwks = await (await fetch(stack.jwksUrl)).json()
    const config = stackConfig({ SUPABASE_JWKS: JSON.stringify(jwks) })
    const ids = await subject(stack)
    for (const code of ['42883', '42P01', '42501', '23505', 'XX000', '0A000']) {
      for (const [name] of inProcessRoutes(config, {}, ids)) {
        // The session check and health fail closed on anything: a 503 is theirs by design.
        if (name === 'GET /me' || name === 'GET /health') continue
        const failing = failingDatabase(() => errorFor(code))
        const route = inProcessRoutes(config, { database: failing.database }, ids)
          .find(([other]) => other === name)!
        const [response, lines] = await capturingErrors(() => route[2]())
        assertEquals(response.status, 500, `${name} (${code})`)
        assertEquals(await response.json(), {
          error: 'server_error',
          error_description: DESCRIPTIONS.internal,
        })
        assert(lines.some((line) => line.includes('server_error')), `${name}: logged`)
        assertEquals(failing.attempts(), 1, `${name} (${code}): attempts`)
      }
    }
  },
})
