/**
 * The PostgreSQL client of an instance, for the session check and the functions' own queries, on
 * postgres.js; or a postgres.js client of the function's own, handed over instead of a URL.
 *
 * @module
 */
import type postgres from 'postgres'
import { DEFAULT_DB_TIMEOUT_MS } from '../core/config.ts'
import { isConflict } from './database_errors.ts'
import {
  adoptedOptions,
  connectionSettings,
  postgresOptions,
  type SslOption,
  sslOption,
} from './postgres_options.ts'
import { createSql, type Sql, type SqlSettings } from './sql.ts'

export type { Queryable, Row, Sql } from './sql.ts'

/** A postgres.js client configured elsewhere (`postgres(url, options)`). */
export type PostgresClient = postgres.Sql<Record<string, unknown>>

/** What a function may hand to the session check and RLS helpers: either client. */
export type DatabaseClient = Sql | PostgresClient

/** The pool's settings unless told otherwise: at most 5 connections, idle ones closed after 20 s. */
const POOL = { max: 5, idleTimeoutMs: 20_000 } as const

/**
 * A client for `url`, with its own pool: at most 5 connections (an Edge Function instance serves
 * few requests at once, and Supabase's pooler limits clients), unnamed statements only (a pooler
 * in transaction mode has no prepared statements), each query or transaction within its time
 * budget (the wait for a connection and connecting included: a down or stuck database fails
 * fast, the caller answers 503), idle connections closed after 20 s. Nothing loads or connects
 * until the first query; `end()` closes it. The session check of an instance makes one from
 * `SUPABASE_DB_URL` and owns it (`auth.database()`).
 *
 * @param url a `postgres://` URL (`sslmode`, `sslrootcert`, `application_name` and
 *   `connect_timeout` are read from its query; a connection still opening when a query's time
 *   budget passes is destroyed)
 * @param settings pool size (default 5), idle timeout (default 20 s), the time budget of a query
 *   or transaction (default `DEFAULT_DB_TIMEOUT_MS`)
 * @returns the client
 * @throws TypeError when the URL is not usable; the message never contains it
 */
export function createDatabaseClient(url: string, settings: Partial<SqlSettings> = {}): Sql {
  const connection = connectionSettings(url, {
    applicationName: 'edge-auth',
    connectTimeoutSeconds: 3,
  })
  // `sslrootcert` is read once, when the first connection opens (again after a failed read).
  let ssl: Promise<SslOption> | undefined
  return createSql(async (session) => {
    ssl ??= sslOption(connection).catch((error) => {
      ssl = undefined
      throw error
    })
    return postgresOptions(connection, await ssl, session)
  }, { ...POOL, timeoutMs: DEFAULT_DB_TIMEOUT_MS, ...settings })
}

/**
 * The client to query through: `client` itself, or for a postgres.js client, a client on its
 * settings (server, credentials, TLS, types) with the rules every query here follows: its own
 * pool of at most 5 connections, unnamed statements, the time budget, a connection past it
 * destroyed (which a shared pool could not do without touching the function's own queries), and
 * no column or value transforms. Each call for a postgres.js client makes a new pool: call it
 * once, where the client is handed over (the session check does), and keep what it returns.
 *
 * @param client the function's client
 * @param timeoutMs the time budget of a query or transaction
 * @returns a client with deadlines
 */
export function withDeadlines(client: DatabaseClient, timeoutMs: number): Sql {
  if (!isPostgresClient(client)) return client
  return createSql((session) => adoptedOptions(client.options, session), { ...POOL, timeoutMs })
}

/**
 * Tells a postgres.js client from an {@linkcode Sql}.
 *
 * @param client either
 * @returns true for a postgres.js client
 */
export function isPostgresClient(client: DatabaseClient): client is PostgresClient {
  const options = (client as { options?: { shared?: unknown } }).options
  return typeof (client as { reserve?: unknown }).reserve === 'function' &&
    typeof options === 'object' && options !== null && options.shared !== undefined
}

/**
 * The `statement_timeout` and `lock_timeout` a transaction of `sql` sets for itself: four fifths
 * of the client's budget, so that PostgreSQL ends a stuck statement or lock wait itself, with an
 * error that says so (and the connection stays usable), before the client gives up on it. The
 * session functions of the migrations carry the same `lock_timeout` for the default budget
 * (1200 ms), longer than PostgreSQL's default `deadlock_timeout` (1 s): a deadlock is reported as
 * one, and repeated.
 *
 * @param sql the client
 * @returns the timeout, as a PostgreSQL setting (`1200ms`)
 */
export function serverTimeout(sql: Sql): string {
  return `${Math.max(1, Math.floor((sql.timeoutMs * 4) / 5))}ms`
}

/** How a connection that had closed meets the next statement: closed, reset, or a broken pipe. */
const STALE_CONNECTION_CODES: ReadonlySet<string> = new Set([
  'CONNECTION_CLOSED',
  'ECONNRESET',
  'EPIPE',
])

/**
 * Runs queries on an instance's client, once more when the first attempt failed in a way that
 * applied nothing of it:
 * - it met a connection that had closed before anything not safe to repeat was sent (a
 *   transaction pooler closes idle client connections of its own accord, for instance while its
 *   database restarts, and such a close may cross the query on the wire). `attempt` gets a
 *   `begun` callback to call once it has sent something that must not run twice;
 * - PostgreSQL chose it as a deadlock's victim or refused it a serializable snapshot (SQLSTATE
 *   40P01, 40001): the server rolled the whole transaction back, and the same work a moment
 *   later usually goes through.
 *
 * Never more than one repeat: a second failure is the caller's to report.
 *
 * @param attempt the queries; calls `begun()` before anything not safe to repeat
 * @returns what `attempt` returns
 * @throws what the last attempt threw
 */
export async function withRecovery<T>(
  attempt: (begun: () => void) => Promise<T>,
): Promise<T> {
  let started = false
  const begun = () => {
    started = true
  }
  try {
    return await attempt(begun)
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code
    const closedBeforeSent = !started && STALE_CONNECTION_CODES.has(code as string)
    if (!closedBeforeSent && !isConflict(error)) throw error
    return await attempt(() => {})
  }
}
