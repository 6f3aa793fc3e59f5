/**
 * The session check of an instance, from its own options: on a PostgreSQL client (the session
 * store and revocation feed of the package's SQL), which it owns for the instance's lifetime, or
 * on an injected store. One instance, one pool: apps that query the same database under row level
 * security take the client from here ({@linkcode SessionCheck.database}).
 *
 * @module
 */
import type { Clock } from '../core/clock.ts'
import { ConfigError } from '../core/config.ts'
import type { RevocationFeed, SessionStore } from '../core/deps.ts'
import { checkOption, INTEGER_SETTINGS, integerOption } from '../core/options.ts'
import { type DatabaseClient, type Sql, withDeadlines } from '../db/database.ts'
import { createSessionChecker, type SessionChecker } from './session_check.ts'
import { databaseRevocationFeed, databaseSessionStore } from './session_store.ts'

/** Options of {@linkcode createSessionCheck}: `sql`, `store`, or both. */
export interface SessionCheckOptions {
  /**
   * The database: a postgres.js client (queried through a pool of its own with the time budget,
   * see `withDeadlines`) or a client from `createDatabaseClient`. Without `store`, sessions are
   * looked up in it and its revocation log is polled.
   */
  sql?: DatabaseClient
  /** A session store of your own (tests, another backend); it replaces the database lookup. */
  store?: SessionStore
  /**
   * The revocation log (default: the database's, unless a `store` is given without one; then
   * every answer is asked again after `ttlMs`).
   */
  feed?: RevocationFeed
  /** How stale a cached answer may be, in ms (default 1000; 0 asks every time; at most 60000). */
  ttlMs?: number
  /** Sessions remembered (default 10000). */
  size?: number
  /** Time budget of each query or transaction on a postgres.js `sql`, in ms (default 1500). */
  timeoutMs?: number
  /**
   * The longest a token lives, in seconds (the verifier's `maxTokenAgeSeconds` plus its clock
   * tolerance; default 604805): older revocations concern only expired tokens and are pruned.
   */
  tokenLifetimeSeconds?: number
  /** The clock the TTL runs on (default the system clock). */
  clock?: Clock
}

/** The session check of one instance, and the database client it owns. */
export interface SessionCheck extends SessionChecker {
  /**
   * The database client of the instance, for the app's own queries on the same pool.
   *
   * @throws {ConfigError} when the check was built on a store alone
   */
  database(): Sql
  /**
   * Closes the connections of the client it queries (tests, orderly shutdown); a postgres.js
   * client handed over stays open, only the pool made on it closes.
   */
  close(): Promise<void>
}

const OWNER = 'createSessionCheck'

// The longest a token lives: the verifier's token age plus its clock tolerance.
const { maxTokenAgeSeconds: age, clockToleranceSeconds: tolerance } = INTEGER_SETTINGS
const TOKEN_LIFETIME_SECONDS = {
  fallback: age.fallback + tolerance.fallback,
  min: 1,
  max: age.max + tolerance.max,
}

/**
 * Builds the session check of an instance; call it once, as it owns the caches and the pool.
 *
 * @param options the database or store, the feed, cache TTL and size, time budget, clock
 * @returns the session check, for `createAuth`
 * @throws {TypeError} naming the option at fault
 *
 * @example
 * ```ts
 * import postgres from 'postgres'
 * const sessions = createSessionCheck({ sql: postgres(Deno.env.get('SUPABASE_DB_URL')!) })
 * ```
 */
export function createSessionCheck(options: SessionCheckOptions): SessionCheck {
  checkOption(
    OWNER,
    'sql',
    options.sql !== undefined || options.store !== undefined,
    'given, or store',
  )
  checkOption(
    OWNER,
    'store',
    options.store === undefined || typeof options.store === 'function',
    'a function',
  )
  checkOption(
    OWNER,
    'feed',
    options.feed === undefined || typeof options.feed === 'function',
    'a function',
  )
  const timeoutMs = integerOption(
    OWNER,
    'timeoutMs',
    options.timeoutMs,
    INTEGER_SETTINGS.dbTimeoutMs,
  )
  const ttlMs = integerOption(OWNER, 'ttlMs', options.ttlMs, INTEGER_SETTINGS.sessionCacheTtlMs)
  const size = integerOption(OWNER, 'size', options.size, INTEGER_SETTINGS.sessionCacheSize)
  const keepSeconds = integerOption(
    OWNER,
    'tokenLifetimeSeconds',
    options.tokenLifetimeSeconds,
    TOKEN_LIFETIME_SECONDS,
  ) + 60 // A minute more for the clocks of the database and the instance.
  const sql = options.sql === undefined ? undefined : withDeadlines(options.sql, timeoutMs)
  const database = (): Sql => {
    if (sql === undefined) {
      throw new ConfigError('SUPABASE_DB_URL', 'is required by this function')
    }
    return sql
  }
  const checker = createSessionChecker({
    query: options.store ?? databaseSessionStore(database),
    // An injected store without a feed: every answer is re-asked after the TTL.
    feed: options.feed ??
      (options.store ? undefined : databaseRevocationFeed(database, keepSeconds)),
    feedKeepMs: keepSeconds * 1000,
    ttlMs,
    size,
    clock: options.clock,
  })
  return {
    ...checker,
    database,
    close: async () => {
      // A postgres.js client handed over stays open: only the pool made on it is the check's.
      await sql?.end()
    },
  }
}
