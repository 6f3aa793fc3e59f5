/**
 * The revocation-aware session check: is the token's `session_id` still a live session?
 *
 * Answers are cached per instance, briefly for a live or refused pair (`sessionCacheTtlMs`) and
 * for good for a session that no longer exists (a deleted session never comes back); concurrent
 * checks of one session share one query; a failing store is a 503, never an "active" (fail closed). The store itself is a function
 * (`session_query.ts` asks PostgreSQL), so this module holds only the caching rules.
 *
 * @module
 */
import { createBoundedCache } from '../core/bounded_cache.ts'
import { type Clock, systemClock } from '../core/clock.ts'
import { ConfigError } from '../core/config.ts'
import type { SessionState, SessionStore } from '../core/deps.ts'
import { unavailable } from '../core/errors.ts'

/** Options of {@linkcode createSessionChecker}. */
export interface SessionCheckerOptions {
  /** The store. */
  query: SessionStore
  /** How long a `live` or `refused` answer is reused, in milliseconds; 0 asks every time. */
  ttlMs: number
  /** The most entries remembered, in each of the three caches. */
  size: number
  /** The clock the TTL runs on (default the system clock). */
  clock?: Clock
  /** `Retry-After` seconds when the store fails (default 5). */
  retryAfter?: number
}

/** The session check of one instance. */
export interface SessionChecker {
  /** True when the session is live; throws 503 `temporarily_unavailable` when the store fails. */
  isActive(sessionId: string, userId: string): Promise<boolean>
  /** Marks a session gone on this instance at once (after a logout through it). */
  forget(sessionId: string): void
}

/**
 * Creates a session checker. Only `gone` is remembered for good, keyed by the session alone:
 * the session does not exist for anyone. `live` and `refused` are keyed by the (session, user)
 * pair and expire after the TTL, so a ban that ends lets the user back in, and a token pairing
 * one user with another user's session id never changes the answer for the real owner.
 *
 * @param options the store, cache TTL and size, clock
 * @returns the checker
 */
export function createSessionChecker(options: SessionCheckerOptions): SessionChecker {
  const { query, ttlMs, size, clock = systemClock, retryAfter = 5 } = options
  const answers = createBoundedCache<string, { live: boolean; until: number }>({ maxEntries: size })
  const gone = createBoundedCache<string, true>({ maxEntries: size })
  // Bounded by the requests in flight: an entry lives only while its query runs.
  const pending = new Map<string, Promise<boolean>>()

  function forget(sessionId: string): void {
    gone.set(sessionId, true)
  }

  async function ask(sessionId: string, userId: string, key: string): Promise<boolean> {
    // The TTL runs from the question, not the answer: a slow query must not extend it.
    const askedAt = clock.now()
    let state: SessionState
    try {
      state = await query(sessionId, userId)
    } catch (error) {
      if (error instanceof ConfigError) throw error
      throw unavailable('sessionStoreUnavailable', retryAfter, error)
    }
    if (state === 'gone') {
      forget(sessionId)
      answers.delete(key)
      return false
    }
    const live = state === 'live'
    if (ttlMs > 0 && !gone.has(sessionId)) answers.set(key, { live, until: askedAt + ttlMs })
    return live
  }

  async function isActive(sessionId: string, userId: string): Promise<boolean> {
    if (gone.has(sessionId)) return false
    const key = `${sessionId} ${userId}`
    const cached = answers.get(key)
    if (cached !== undefined && clock.now() < cached.until) return cached.live
    let answer = pending.get(key)
    if (answer === undefined) {
      answer = ask(sessionId, userId, key).finally(() => pending.delete(key))
      pending.set(key, answer)
    }
    const active = await answer
    // A logout through this instance while the query ran wins over its answer.
    return active && !gone.has(sessionId)
  }

  return { isActive, forget }
}
