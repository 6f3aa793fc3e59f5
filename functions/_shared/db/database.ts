/**
 * The PostgreSQL client of an instance, for the session check and the functions' own queries, on
 * postgres.js; or a postgres.js client of the function's own, handed over instead of a URL.
 *
 * @module
 */
import type postgres from 'postgres'
import { type Config, ConfigError, DEFAULT_DB_TIMEOUT_MS } from '../core/config.ts'
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

// One client per database URL, time budget and instance: each holds a small pool, created on
// first use so a function that never queries never connects.
const clients = new Map<string, Sql>()

function clientKey(config: Config): string | undefined {
  return config.dbUrl === undefined ? undefined : `${config.dbTimeoutMs} ${config.dbUrl}`
}

/**
 * Returns the instance's client for `config.dbUrl`, creating it on first use.
 *
 * Settings: at most 5 connections (an Edge Function instance serves few requests at once, and
 * Supabase's pooler limits clients), unnamed statements only (`prepare: false`: a pooler in
 * transaction mode has no prepared statements), each query or transaction within
 * `config.dbTimeoutMs` (the wait for a connection and connecting included: a down or stuck
 * database fails fast, the caller answers 503), idle connections closed after 20 s.
 *
 * @param config the configuration, with `dbUrl` set
 * @returns the client
 * @throws {ConfigError} when `SUPABASE_DB_URL` is not set or not a usable URL
 */
export function database(config: Config): Sql {
  const key = clientKey(config)
  if (key === undefined) {
    throw new ConfigError('SUPABASE_DB_URL', 'is required by this function')
  }
  let sql = clients.get(key)
  if (sql === undefined) {
    try {
      sql = createDatabaseClient(config.dbUrl!, { timeoutMs: config.dbTimeoutMs })
    } catch (error) {
      throw new ConfigError('SUPABASE_DB_URL', (error as Error).message)
    }
    clients.set(key, sql)
  }
  return sql
}

/** The pool's settings unless told otherwise: at most 5 connections, idle ones closed after 20 s. */
const POOL = { max: 5, idleTimeoutMs: 20_000 } as const

/**
 * A client of its own for `url`, apart from the instance's shared one: for scripts, tests, or a
 * second database. Nothing loads or connects until the first query; `end()` closes it.
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

// A client handed over, wrapped once per time budget: the same pool for every request.
const adopted = new WeakMap<PostgresClient, Map<number, Sql>>()

/**
 * The client to query through: `client` itself, or for a postgres.js client, a client on its
 * settings (server, credentials, TLS, types) with the rules every query here follows: its own
 * pool of at most 5 connections, unnamed statements, the time budget, a connection past it
 * destroyed (which a shared pool could not do without touching the function's own queries), and
 * no column or value transforms.
 *
 * @param client the function's client
 * @param timeoutMs the time budget of a query or transaction
 * @returns a client with deadlines
 */
export function withDeadlines(client: DatabaseClient, timeoutMs: number): Sql {
  if (!isPostgresClient(client)) return client
  let byBudget = adopted.get(client)
  if (byBudget === undefined) adopted.set(client, byBudget = new Map())
  let sql = byBudget.get(timeoutMs)
  if (sql === undefined) {
    sql = createSql((session) => adoptedOptions(client.options, session), { ...POOL, timeoutMs })
    byBudget.set(timeoutMs, sql)
  }
  return sql
}

function isPostgresClient(client: DatabaseClient): client is PostgresClient {
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

/**
 * The database client an app is to use: the injected one (a postgres.js client gets the time
 * budget of `config`, see {@linkcode withDeadlines}), or the instance's for `config.dbUrl`
 * (opened on first use).
 *
 * @param config the configuration
 * @param deps the app's dependencies (`database` overrides)
 * @returns a function giving the client
 */
export function databaseFor(
  config: Config,
  deps: { database?: () => DatabaseClient },
): () => Sql {
  const injected = deps.database
  if (injected === undefined) return () => database(config)
  return () => withDeadlines(injected(), config.dbTimeoutMs)
}

/**
 * Closes the instance's client for `config.dbUrl`, if any; the next {@linkcode database} call
 * creates a new one. For tests and orderly shutdown.
 *
 * @param config the configuration whose client to close
 * @returns when every connection is closed
 */
export async function closeDatabase(config: Config): Promise<void> {
  const key = clientKey(config)
  const sql = key === undefined ? undefined : clients.get(key)
  if (sql === undefined) return
  clients.delete(key!)
  await sql.end()
}

/** How a connection that had closed meets the next statement: closed, reset, or a broken pipe. */
const STALE_CONNECTION_CODES = new Set(['CONNECTION_CLOSED', 'ECONNRESET', 'EPIPE'])

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
