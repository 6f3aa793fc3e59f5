/**
 * Database faults made with the real PostgreSQL, for the tests of what the functions answer
 * meanwhile: a lock held from another transaction, a backend found waiting for it, sessions
 * written straight into `auth.sessions` (as the auth server writes them at sign-in) with access
 * tokens for them, the lines the stack's functions log.
 *
 * @module
 */
import { assert } from '@std/assert'
import postgres from 'postgres'
import { eventually } from './poll.ts'
import { mintToken, type TestStack } from './stack.ts'

/**
 * Runs `work` on a one-connection superuser client straight to PostgreSQL (never through the
 * pooler), then closes it.
 *
 * @param stack the stack
 * @param work what to run
 * @returns what `work` returns
 */
export async function withAdmin<T>(
  stack: TestStack,
  work: (sql: postgres.Sql) => Promise<T>,
): Promise<T> {
  const sql = postgres(stack.dbUrl, { max: 1, onnotice: () => {} })
  try {
    return await work(sql)
  } finally {
    await sql.end()
  }
}

/** A transaction of another connection, holding what its statements locked until released. */
export interface HeldTransaction {
  /** Its backend's pid. */
  readonly pid: number
  /** Runs one more statement in the transaction (it may wait for a lock). */
  run(statement: string, parameters?: readonly string[]): Promise<void>
  /** Rolls the transaction back (its locks are free) and closes the connection. */
  release(): Promise<void>
}

/**
 * Opens a transaction straight to PostgreSQL and runs `statements` in it (e.g. `lock table
 * auth.sessions in access exclusive mode`, or a `select … for update`); resolves once they ran,
 * that is once their locks are held.
 *
 * @param stack the stack
 * @param statements SQL written by the test, run in order
 * @returns the held transaction
 */
export async function holdTransaction(
  stack: TestStack,
  ...statements: string[]
): Promise<HeldTransaction> {
  const sql = postgres(stack.dbUrl, { max: 1, onnotice: () => {} })
  const connection = await sql.reserve()
  const run = async (statement: string, parameters: readonly string[] = []) => {
    await connection.unsafe(statement, [...parameters])
  }
  let pid: number
  try {
    const [row] = await connection`select pg_backend_pid() as pid`
    pid = row!.pid as number
    await run('begin')
    for (const statement of statements) await run(statement)
  } catch (error) {
    connection.release()
    await sql.end()
    throw error
  }
  return {
    pid,
    run,
    async release() {
      // Rolled back: nothing the test did stays.
      await run('rollback').catch(() => {})
      connection.release()
      await sql.end()
    },
  }
}

/**
 * Waits until a backend of PostgreSQL other than the test's own waits for a lock while running a
 * statement that contains `fragment`.
 *
 * @param stack the stack
 * @param fragment a piece of the statement's text, e.g. `auth_revoke_user_sessions`
 * @param timeoutMs how long to wait (default 5 s)
 * @returns the waiting backend's pid
 */
export async function lockWaiter(
  stack: TestStack,
  fragment: string,
  timeoutMs = 5_000,
): Promise<number> {
  return await withAdmin(stack, async (sql) => {
    const { value } = await eventually(async () => {
      const [row] = await sql`
        select pid from pg_stat_activity
        where wait_event_type = 'Lock' and pid <> pg_backend_pid()
          and position(${fragment} in query) > 0 and query not like '%pg_stat_activity%'
        limit 1`
      return row?.pid as number | undefined
    }, { timeoutMs, intervalMs: 10, what: `a backend waiting for a lock in ${fragment}` })
    return value
  })
}

/**
 * Writes `count` sessions of a user straight into `auth.sessions`, the row the auth server writes
 * at sign-in, so that a test has many sessions without as many sign-ins.
 *
 * @param stack the stack
 * @param userId the user (who must exist)
 * @param count how many
 * @returns their ids, sorted as PostgreSQL sorts uuids
 */
export async function insertSessions(
  stack: TestStack,
  userId: string,
  count: number,
): Promise<string[]> {
  const ids = Array.from({ length: count }, () => crypto.randomUUID()).sort()
  await withAdmin(stack, async (sql) => {
    await sql`
      insert into auth.sessions (id, user_id, created_at, updated_at, aal)
      select id, ${userId}::uuid, now(), now(), 'aal1' from unnest(${ids}::uuid[]) as id`
  })
  return ids
}

/**
 * The user's sessions left in `auth.sessions`.
 *
 * @param stack the stack
 * @param userId the user
 * @returns their count
 */
export async function sessionCount(stack: TestStack, userId: string): Promise<number> {
  return await withAdmin(stack, async (sql) => {
    const [row] = await sql`select count(*)::int as n from auth.sessions where user_id = ${userId}`
    return row!.n as number
  })
}

/**
 * An access token of the stack for the session, live for ten minutes or, with `expired`,
 * expired a minute ago (the logout's SQL path).
 *
 * @param stack the stack
 * @param userId the token's `sub`
 * @param sessionId the token's `session_id`
 * @param expired whether it has expired
 * @returns the token
 */
export async function tokenFor(
  stack: TestStack,
  userId: string,
  sessionId: string,
  expired = false,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const times = expired ? { iat: now - 120, exp: now - 60 } : {}
  return await mintToken({ sub: userId, session_id: sessionId, ...times }, stack)
}

/**
 * The log of the stack's functions from now on: `lines()` gives what they wrote since.
 *
 * @param stack the stack
 * @returns the reader
 */
export function functionsLogFrom(stack: TestStack): { lines(): string[] } {
  const file = `${stack.stateDir}/logs/functions.log`
  const from = Deno.statSync(file).size
  return {
    lines() {
      const bytes = Deno.readFileSync(file).subarray(from)
      return new TextDecoder().decode(bytes).split('\n').filter((line) => line !== '')
    },
  }
}

/**
 * Asserts that no line reports a failure as a bug of ours (`server_error`, the 500 of an
 * unexpected exception).
 *
 * @param lines log lines
 */
export function assertNoBugLine(lines: readonly string[]): void {
  const bugs = lines.filter((line) => line.includes('server_error'))
  assert(bugs.length === 0, `logged as a bug:\n${bugs.join('\n')}`)
}
