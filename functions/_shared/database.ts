/**
 * The PostgreSQL client of an instance, for the session check and the functions' own queries.
 *
 * @module
 */
import postgres from 'postgres'
import { type Config, ConfigError } from './config.ts'

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
  }
  return sql
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

/**
 * Drops a client whose connection attempt timed out, so the next {@linkcode database} call builds
 * a fresh one. On Deno 2.1 (the edge runtime's) a postgres.js connection whose server closed it
 * during start-up (a transaction pooler refusing logins while PostgreSQL is down) never connected
 * again: every later attempt timed out, and the instance answered 503 long after the database was
 * back. A new client has no such connection; elsewhere this costs one reconnect after an outage.
 *
 * @param sql the client a query failed on
 * @param error what the query threw
 */
export function discardIfStuck(sql: postgres.Sql, error: unknown): void {
  if ((error as { code?: unknown } | null)?.code !== 'CONNECT_TIMEOUT') return
  for (const [url, client] of clients) {
    if (client !== sql) continue
    // Dropped, not ended: ending it while a connection is half-closed crashed the isolate on
    // Deno 2.1 (postgres.js wrote to a socket it had just released). Its queued queries time
    // out as before, and its idle connections close after `idle_timeout`.
    clients.delete(url)
  }
}
