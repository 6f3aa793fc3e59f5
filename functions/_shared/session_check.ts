/**
 * The revocation-aware session check: is the token's `session_id` still a live session?
 *
 * Answers are cached per instance, briefly for a live session (`sessionCacheTtlMs`) and for good
 * for a dead one (a deleted session never comes back); concurrent checks of one session share one
 * query; a failing store is a 503, never an "active" (fail closed). The store itself is a function
 * (`session_query.ts` asks PostgreSQL), so this module holds only the caching rules.
 *
 * @module
 */
import { ConfigError } from './config.ts'
import { unavailable } from './errors.ts'

/** Asks the session store whether `sessionId` is a live session of `userId`. */
export type SessionQuery = (sessionId: string, userId: string) => Promise<boolean>

/** Options of {@linkcode createSessionChecker}. */
export interface SessionCheckerOptions {
  /** The store. */
  query: SessionQuery
  /** How long a "live" answer is reused, in milliseconds; 0 asks every time. */
  ttlMs: number
  /** The most sessions remembered, live and dead each. */
  size: number
  /** Clock in milliseconds (default `Date.now`). */
  now?: () => number
  /** `Retry-After` seconds when the store fails (default 5). */
  retryAfter?: number
}

/** The session check of one instance. */
export interface SessionChecker {
  /** True when the session is live; throws 503 `temporarily_unavailable` when the store fails. */
  isActive(sessionId: string, userId: string): Promise<boolean>
  /** Marks a session dead on this instance at once (after a logout through it). */
  forget(sessionId: string): void
}

/**
 * Creates a session checker.
 *
 * @param options the store, cache TTL and size, clock
 * @returns the checker
 */
export function createSessionChecker(options: SessionCheckerOptions): SessionChecker {
  const { query, ttlMs, size, now = Date.now, retryAfter = 5 } = options
  // Both maps iterate in insertion order, so the first key is the oldest one to evict.
  const live = new Map<string, { userId: string; until: number }>()
  const dead = new Map<string, true>()
  const pending = new Map<string, Promise<boolean>>()

  function remember<V>(map: Map<string, V>, key: string, value: V): void {
    map.delete(key)
    map.set(key, value)
    if (map.size > size) map.delete(map.keys().next().value!)
  }

  function forget(sessionId: string): void {
    live.delete(sessionId)
    remember(dead, sessionId, true)
  }

  async function ask(sessionId: string, userId: string): Promise<boolean> {
    // The TTL runs from the question, not the answer: a slow query must not extend it.
    const askedAt = now()
    let active: boolean
    try {
      active = await query(sessionId, userId)
    } catch (error) {
      if (error instanceof ConfigError) throw error
      throw unavailable('sessionStoreUnavailable', retryAfter, error)
    }
    if (!active) forget(sessionId)
    else if (ttlMs > 0 && !dead.has(sessionId)) {
      remember(live, sessionId, { userId, until: askedAt + ttlMs })
    }
    return active
  }

  async function isActive(sessionId: string, userId: string): Promise<boolean> {
    if (dead.has(sessionId)) return false
    const cached = live.get(sessionId)
    if (cached !== undefined && cached.userId === userId && now() < cached.until) return true
    const key = `${sessionId} ${userId}`
    let answer = pending.get(key)
    if (answer === undefined) {
      answer = ask(sessionId, userId).finally(() => pending.delete(key))
      pending.set(key, answer)
    }
    const active = await answer
    // A logout through this instance while the query ran wins over its answer.
    return active && !dead.has(sessionId)
  }

  return { isActive, forget }
}
