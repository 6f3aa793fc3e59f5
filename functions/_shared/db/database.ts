/**
 * The PostgreSQL client of an instance, for the session check and the functions' own queries.
 *
 * @module
 */
import postgres from 'postgres'
import { type Config, ConfigError } from '../core/config.ts'

// One client per database URL and instance: each holds a small pool, created on first use so a
// function that never queries never connects.
const clients = new Map<string, postgres.Sql>()

/**
 * Returns the instance's client for `config.dbUrl`, creating it on first use.
 *
 * Settings: at most 5 connections (an Edge Function instance serves few requests at once, and
 * Supabase's pooler limits clients), `prepare: false` (the pooler in transaction mode rejects
 * prepared statements), no type lookup per connection, a 3 s connect timeout (a down database fails fast: the caller answers
 * 503), reconnection delays of at most 0.5 s, idle connections closed after 20 s, notices not
 * printed.
 *
 * @param config the configuration, with `dbUrl` set
 * @returns the client
 * @throws {ConfigError} when `SUPABASE_DB_URL` is not set
 */
export function database(config: Config): postgres.Sql {
  const url = config.dbUrl
  if (url === undefined) throw new ConfigError('SUPABASE_DB_URL', 'is required by this function')
  let sql = clients.get(url)
  if (sql === undefined) {
    sql = postgres(url, {
      max: 5,
      prepare: false,
      connect_timeout: 3,
      // postgres.js waits before reconnecting, up to 20 s once a few attempts failed (3^n/100 s),
      // and a request handed to such a connection waits with it: during an outage a 503 came
      // only after that wait, and for 20 s after PostgreSQL was back requests still stalled.
      // Attempts are made only for requests, at most one per pooled connection, so a short cap
      // cannot flood the server.
      backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 0.5),
      idle_timeout: 20,
      // postgres.js otherwise asks each new connection for the database's array types, in an
      // async step whose failure nobody awaits: a transaction pooler that refuses the login
      // (PostgreSQL down behind it) then crashed the whole instance with an unhandled rejection.
      // The functions use built-in types only, and every connection saves a round trip.
      fetch_types: false,
      onnotice: () => {},
      connection: { application_name: 'edge-auth' },
    })
    clients.set(url, sql)
    guardAgainstDriverCrash()
  }
  return sql
}

let guarded = false

/**
 * postgres.js 3.4.9 defers small writes to a `setImmediate`, and when the connection closes
 * before it runs (a pooler hanging up while PostgreSQL is down) the deferred write throws
 * `TypeError: Cannot read properties of null (reading 'write')` from the timer, where no `await`
 * can catch it: the instance died, taking its in-flight requests with it (upstream
 * porsager/postgres#1154, unfixed in 3.4.9). The connection it happened on never writes again,
 * so the error is kept from ending the instance and every client is dropped: the next query opens
 * a fresh pool, and the queries of the dead one have already failed with `CONNECTION_CLOSED`.
 */
function guardAgainstDriverCrash(): void {
  if (guarded) return
  guarded = true
  globalThis.addEventListener('error', (event) => {
    if (!isDeferredWriteCrash(event.error)) return
    event.preventDefault()
    console.error('[edge-auth] database connection closed during a write; clients reset')
    clients.clear()
  })
}

function isDeferredWriteCrash(error: unknown): boolean {
  return error instanceof TypeError && /reading 'write'/.test(error.message) &&
    /nextWrite[\s\S]*postgres/.test(error.stack ?? '')
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
  deps: { database?: () => postgres.Sql },
): () => postgres.Sql {
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
  await sql.end({ timeout: 5 })
}

/** Errors of a pooled connection that had closed before the query was handed to it. */
const STALE_CONNECTION_CODES = new Set(['EPIPE', 'ECONNRESET', 'CONNECTION_CLOSED'])

/**
 * Runs queries on an instance's client, recovering from the two ways a pooled client fails after
 * an outage although the database is back:
 *
 * - A transaction pooler closes idle client connections of its own accord (for instance while its
 *   database restarts), and postgres.js hands the next query to such a connection before it sees
 *   the close. `attempt` then runs once more, when it is safe to repeat: it gets a `begun`
 *   callback to call once it has sent something that must not run twice.
 * - On Deno 2.1 (the edge runtime's) a postgres.js connection whose server closed it during
 *   start-up (a pooler refusing logins while PostgreSQL is down) never connected again: every
 *   attempt timed out. A client whose connection attempt timed out is dropped, so the next
 *   {@linkcode database} call builds a fresh one. It is dropped, not ended: ending it while a
 *   connection was half-closed crashed the isolate on Deno 2.1. Its idle connections close after
 *   `idle_timeout`.
 *
 * @param sql the client, from {@linkcode database}
 * @param attempt the queries; calls `begun()` before anything not safe to repeat
 * @returns what `attempt` returns
 * @throws what the last attempt threw
 */
export async function withRecovery<T>(
  sql: postgres.Sql,
  attempt: (begun: () => void) => Promise<T>,
): Promise<T> {
  let started = false
  const begun = () => {
    started = true
  }
  try {
    try {
      return await attempt(begun)
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code
      if (started || typeof code !== 'string' || !STALE_CONNECTION_CODES.has(code)) throw error
      return await attempt(() => {})
    }
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code === 'CONNECT_TIMEOUT') dropClient(sql)
    throw error
  }
}

function dropClient(sql: postgres.Sql): void {
  for (const [url, client] of clients) {
    if (client === sql) clients.delete(url)
  }
}
