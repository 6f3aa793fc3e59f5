/**
 * The PostgreSQL client of an instance, for the session check and the functions' own queries.
 *
 * @module
 */
import { type Config, ConfigError } from '../core/config.ts'
import { parseConnectionUrl } from './pg_options.ts'
import type { PoolSettings } from './pg_pool.ts'
import { createSql, type Sql } from './sql.ts'

export type { Queryable, Row, Sql } from './sql.ts'

// One client per database URL and instance: each holds a small pool, created on first use so a
// function that never queries never connects.
const clients = new Map<string, Sql>()

/**
 * Returns the instance's client for `config.dbUrl`, creating it on first use.
 *
 * Settings: at most 5 connections (an Edge Function instance serves few requests at once, and
 * Supabase's pooler limits clients), unnamed statements only (a pooler in transaction mode has no
 * prepared statements), a 3 s connect timeout unless the URL sets `connect_timeout` (a down
 * database fails fast: the caller answers 503), idle connections closed after 20 s.
 *
 * @param config the configuration, with `dbUrl` set
 * @returns the client
 * @throws {ConfigError} when `SUPABASE_DB_URL` is not set or not a usable URL
 */
export function database(config: Config): Sql {
  const url = config.dbUrl
  if (url === undefined) throw new ConfigError('SUPABASE_DB_URL', 'is required by this function')
  let sql = clients.get(url)
  if (sql === undefined) {
    try {
      sql = createDatabaseClient(url)
    } catch (error) {
      throw new ConfigError('SUPABASE_DB_URL', (error as Error).message)
    }
    clients.set(url, sql)
  }
  return sql
}

/**
 * A client of its own for `url`, apart from the instance's shared one: for scripts, tests, or a
 * second database. Nothing connects until the first query; `end()` closes it.
 *
 * @param url a `postgres://` URL (`sslmode`, `sslrootcert`, `application_name` and
 *   `connect_timeout` are read from its query)
 * @param settings pool size (default 5) and idle timeout (default 20 s)
 * @returns the client
 * @throws TypeError when the URL is not usable; the message never contains it
 */
export function createDatabaseClient(url: string, settings: Partial<PoolSettings> = {}): Sql {
  const options = parseConnectionUrl(url, { applicationName: 'edge-auth', connectTimeoutMs: 3_000 })
  return createSql(options, { max: 5, idleTimeoutMs: 20_000, ...settings })
}

/**
 * The database client an app is to use: the injected one, or the instance's for `config.dbUrl`
 * (opened on first use).
 *
 * @param config the configuration
 * @param deps the app's dependencies (`database` overrides)
 * @returns a function giving the client
 */
export function databaseFor(
  config: Config,
  deps: { database?: () => Sql },
): () => Sql {
  return deps.database ?? (() => database(config))
}

/**
 * Closes the instance's client for `config.dbUrl`, if any; the next {@linkcode database} call
 * creates a new one. For tests and orderly shutdown.
 *
 * @param config the configuration whose client to close
 * @returns when every connection is closed
 */
export async function closeDatabase(config: Config): Promise<void> {
  const sql = config.dbUrl === undefined ? undefined : clients.get(config.dbUrl)
  if (sql === undefined) return
  clients.delete(config.dbUrl!)
  await sql.end()
}

/**
 * Runs queries on an instance's client, once more when the first attempt met a connection that
 * had closed before it was sent (a transaction pooler closes idle client connections of its own
 * accord, for instance while its database restarts, and such a close may cross the query on the
 * wire). `attempt` gets a `begun` callback to call once it has sent something that must not run
 * twice; after that nothing is repeated.
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
    if (started || code !== 'CONNECTION_CLOSED') throw error
    return await attempt(() => {})
  }
}
