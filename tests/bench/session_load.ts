/**
 * Database load of the session check at steady state: one instance's checker keeps `n` distinct
 * live sessions busy for a while, and every query it sends is counted (existence queries and
 * feed polls alike), with the revocation feed and with the per-session check side by side. Used
 * by `deno task bench` (target T7) and by tests/integration/revocation_feed_test.ts.
 *
 * @module
 */
import postgres from 'postgres'
import { createDatabaseClient, type Sql } from '../../functions/_shared/db/database.ts'
import type { RevocationFeed, SessionStore } from '../../functions/_shared/core/deps.ts'
import { createSessionChecker } from '../../functions/_shared/sessions/session_check.ts'
import {
  databaseRevocationFeed,
  databaseSessionStore,
} from '../../functions/_shared/sessions/session_store.ts'

/** What one measurement found. */
export interface SessionLoad {
  sessions: number
  mode: 'feed' | 'per-session'
  queriesPerSecond: number
  /** Passes over every session during the measurement. */
  passes: number
}

/** Options of {@linkcode measureSessionLoad}. */
export interface SessionLoadOptions {
  /** A superuser URL, to create the sessions in `auth.sessions` and remove them. */
  adminDbUrl: string
  /** The functions' database URL (PostgreSQL, or the pooler in front of it). */
  functionsDbUrl: string
  /** The user the sessions belong to. */
  userId: string
  /** Session counts to measure (the largest is created). */
  sizes: readonly number[]
  /** How long each measurement runs, in seconds. */
  seconds: number
  /** The session cache TTL, which is also the feed's period. */
  ttlMs?: number
}

/**
 * Measures queries per second for every size, feed and per-session check.
 *
 * @param options the databases, the user, the sizes and the duration
 * @returns one result per size and mode
 */
export async function measureSessionLoad(options: SessionLoadOptions): Promise<SessionLoad[]> {
  const admin = postgres(options.adminDbUrl, { max: 2, prepare: false, onnotice: () => {} })
  const pool = createDatabaseClient(options.functionsDbUrl)
  const ids = Array.from({ length: Math.max(...options.sizes) }, () => crypto.randomUUID())
  const results: SessionLoad[] = []
  try {
    for (let i = 0; i < ids.length; i += 2000) {
      const rows = ids.slice(i, i + 2000).map((id) => ({ id, user_id: options.userId }))
      await admin`insert into auth.sessions ${admin(rows, 'id', 'user_id')}`
    }
    for (const n of options.sizes) {
      for (const mode of ['feed', 'per-session'] as const) {
        results.push(await measureOne(pool, ids.slice(0, n), mode, options))
      }
    }
    return results
  } finally {
    await admin`delete from auth.sessions where id in ${admin(ids)}`
    await admin.end()
    await pool.end()
  }
}

async function measureOne(
  pool: Sql,
  sessions: string[],
  mode: 'feed' | 'per-session',
  options: SessionLoadOptions,
): Promise<SessionLoad> {
  let queries = 0
  const store = databaseSessionStore(() => pool)
  const feed = databaseRevocationFeed(() => pool, 604_800)
  const checker = createSessionChecker({
    query: ((s, u) => (queries++, store(s, u))) as SessionStore,
    feed: mode === 'feed' ? ((w, p) => (queries++, feed(w, p))) as RevocationFeed : undefined,
    ttlMs: options.ttlMs ?? 1000,
    size: sessions.length * 2,
  })
  const pass = async () => {
    for (let i = 0; i < sessions.length; i += 200) {
      const answers = await Promise.all(
        sessions.slice(i, i + 200).map((s) => checker.isActive(s, options.userId)),
      )
      if (!answers.every(Boolean)) throw new Error('a live session was refused')
    }
  }
  await pass() // warm: every session asked once
  const before = queries
  const start = performance.now()
  let passes = 0
  while (performance.now() - start < options.seconds * 1000) {
    await pass()
    passes++
    // Other work of a real instance between requests; also lets the feed's timer run.
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const elapsed = (performance.now() - start) / 1000
  return { sessions: sessions.length, mode, queriesPerSecond: (queries - before) / elapsed, passes }
}
