/**
 * The revocation-aware session check: is the token's `session_id` still a live session?
 *
 * Answers are cached per instance; a session that no longer exists is remembered for good (a
 * deleted session never comes back); concurrent checks of one session share one query; a failing
 * store is a 503, never an "active" (fail closed). Two ways to keep a cached "live" answer honest:
 *
 * - **with a revocation feed** (production): a live answer stays cached while the feed is fresh,
 *   that is while the last successful poll of the revocation log, one query for the whole
 *   instance, was sent less than the TTL ago; when it is older, requests wait for one shared poll,
 *   and a failed poll is a 503 (the next poll starts afresh: a new watermark, every cached answer
 *   asked again). A poll's entries drop what they revoke: an ended session is gone, a user's
 *   entry (ban, soft delete, delete) drops the user's cached answers so that the next request
 *   asks the store again. Database load: about one poll per TTL and instance.
 * - **without** (an injected store alone): every answer is asked again after the TTL.
 *
 * A `refused` answer is re-asked after the TTL either way: a ban ends with no write to report.
 *
 * @module
 */
import { createBoundedCache } from '../core/bounded_cache.ts'
import { type Clock, systemClock } from '../core/clock.ts'
import { ConfigError } from '../core/config.ts'
import type {
  Revocation,
  RevocationFeed,
  SessionAnswer,
  SessionState,
  SessionStore,
} from '../core/deps.ts'
import { unavailable } from '../core/errors.ts'

/** Options of {@linkcode createSessionChecker}. */
export interface SessionCheckerOptions {
  /** The store. */
  query: SessionStore
  /** The revocation log; without it every answer is re-asked after the TTL. */
  feed?: RevocationFeed
  /**
   * With a feed: how long a cached answer may go without a poll, in milliseconds (the log keeps
   * rows this long: after a longer gap every cached answer is dropped). Default 7 days.
   */
  feedKeepMs?: number
  /** The staleness bound, in milliseconds; 0 asks every time (and never polls). */
  ttlMs: number
  /** The most entries remembered, in each of the caches. */
  size: number
  /** The clock the TTL runs on (default the system clock). */
  clock?: Clock
  /** `Retry-After` seconds when the store fails (default 5). */
  retryAfter?: number
}

/** The session check of one instance. */
export interface SessionChecker {
  /**
   * True when the session is live; throws 503 `temporarily_unavailable` when the store fails. A
   * fresh cached answer comes back as a plain boolean, without a turn of the microtask queue.
   */
  isActive(sessionId: string, userId: string): boolean | Promise<boolean>
  /** Marks a session gone on this instance at once (after a logout through it). */
  forget(sessionId: string): void
  /**
   * Takes the first poll of the revocation feed now, which opens the database connection, so a
   * cold instance's first request need not wait for either. A failure is left to that request,
   * which polls again.
   */
  warmUp(): void
}

/** How often a poll also prunes the log: a delete per poll would only find nothing to delete. */
const PRUNE_EVERY_MS = 60_000

interface Cached {
  live: boolean
  /** When the query was sent, on the checker's clock. */
  askedAt: number
  /** After this the answer is asked again, whatever the feed says. */
  until: number
}

/**
 * Creates a session checker. Only `gone` is remembered for good, keyed by the session alone:
 * the session does not exist for anyone. `live` and `refused` are keyed by the (session, user)
 * pair, so a ban that ends lets the user back in, and a token pairing one user with another
 * user's session id never changes the answer for the real owner.
 *
 * @param options the store, the feed, cache TTL and size, clock
 * @returns the checker
 */
export function createSessionChecker(options: SessionCheckerOptions): SessionChecker {
  const { query, ttlMs, size, clock = systemClock, retryAfter = 5 } = options
  const feed = ttlMs > 0 ? options.feed : undefined
  const feedKeepMs = options.feedKeepMs ?? 7 * 86_400_000
  // Which cached pairs belong to a session or a user, so a feed entry finds them without a scan.
  const bySession = new Map<string, Set<string>>()
  const byUser = new Map<string, Set<string>>()
  const answers = createBoundedCache<string, Cached>({
    maxEntries: size,
    onRemove: (key) => {
      const [sessionId, userId] = key.split(' ') as [string, string]
      unindex(bySession, sessionId, key)
      unindex(byUser, userId, key)
    },
  })
  const gone = createBoundedCache<string, true>({ maxEntries: size })
  // Bounded by the requests in flight: an entry lives only while its query runs.
  const pending = new Map<string, Promise<boolean>>()
  // Queries a feed entry concerned while they ran: their answers are not kept.
  const overtaken = new Set<string>()

  // The feed's state: the next poll's watermark (undefined until the first poll succeeded), when
  // the last successful poll was sent, the one poll in flight, the rows already applied.
  let watermark: string | undefined
  let polledAt = -Infinity
  let prunedAt = -Infinity
  let polling: Promise<void> | undefined
  // The last poll failed: the next one starts afresh.
  let afresh = false
  const applied = new Map<string, bigint>()

  function unindex(index: Map<string, Set<string>>, id: string, key: string): void {
    const keys = index.get(id)
    if (keys === undefined) return
    keys.delete(key)
    if (keys.size === 0) index.delete(id)
  }

  function remember(sessionId: string, userId: string, key: string, value: Cached): void {
    answers.set(key, value)
    if (!answers.has(key)) return
    for (const [index, id] of [[bySession, sessionId], [byUser, userId]] as const) {
      let keys = index.get(id)
      if (keys === undefined) index.set(id, keys = new Set())
      keys.add(key)
    }
  }

  function forget(sessionId: string): void {
    gone.set(sessionId, true)
  }

  function storeFailed(error: unknown): never {
    if (error instanceof ConfigError) throw error
    throw unavailable('sessionStoreUnavailable', retryAfter, error)
  }

  function dropAll(index: Map<string, Set<string>>, id: string): boolean {
    const keys = index.get(id)
    if (keys === undefined) return false
    for (const key of [...keys]) answers.delete(key)
    return true
  }

  function apply(entry: Revocation): void {
    if (entry.reason === 'session_ended' && entry.sessionId !== undefined) {
      const sessionId = entry.sessionId
      let known = dropAll(bySession, sessionId)
      for (const key of pending.keys()) {
        if (key.startsWith(`${sessionId} `)) {
          overtaken.add(key)
          known = true
        }
      }
      // Only sessions this instance has seen: others would only push real entries out.
      if (known) forget(sessionId)
    } else if (entry.userId !== undefined) {
      const userId = entry.userId
      dropAll(byUser, userId)
      for (const key of pending.keys()) if (key.endsWith(` ${userId}`)) overtaken.add(key)
    }
  }

  function poll(): Promise<void> {
    polling ??= (async () => {
      const sentAt = clock.now()
      // After a failed poll, the rows since the watermark may be what failed it (a backlog too
      // long to read within the database budget, which every later poll would meet again): the
      // next poll only takes a new watermark, like a first one, and what is cached is dropped.
      const restart = afresh && watermark !== undefined
      const since = watermark === undefined || restart ? undefined : BigInt(watermark)
      // Never the first poll: it is on a cold start's path, and a delete is a write to wait for.
      const prune = since !== undefined && sentAt - prunedAt >= PRUNE_EVERY_MS
      let page
      try {
        page = await feed!(since === undefined ? undefined : watermark, prune)
      } catch (error) {
        afresh = true
        storeFailed(error)
      }
      afresh = false
      if (prune) prunedAt = sentAt
      if (restart || (watermark !== undefined && sentAt - polledAt >= feedKeepMs)) {
        // Rows of the gap may have been pruned, or were skipped: nothing cached before it can
        // be vouched for.
        answers.deleteWhere(() => true)
        for (const key of pending.keys()) overtaken.add(key)
      }
      for (const entry of page.entries) {
        // A row comes again while an older transaction keeps the watermark behind it.
        if (applied.has(entry.id)) continue
        applied.set(entry.id, BigInt(entry.xid))
        if (since !== undefined) apply(entry)
      }
      watermark = page.watermark
      const next = BigInt(page.watermark)
      for (const [id, xid] of applied) if (xid < next) applied.delete(id)
      polledAt = Math.max(polledAt, sentAt)
    })().finally(() => polling = undefined)
    return polling
  }

  function fresh(cached: Cached, now: number): boolean {
    if (now >= cached.until) return false
    if (feed === undefined || !cached.live) return true
    // Revocations after the later of the query and the last poll are not known yet.
    return now - Math.max(cached.askedAt, polledAt) < ttlMs
  }

  async function ask(sessionId: string, userId: string, key: string): Promise<boolean> {
    // The TTL runs from the question, not the answer: a slow query must not extend it.
    const askedAt = clock.now()
    let answer: SessionState | SessionAnswer
    try {
      answer = await query(sessionId, userId)
    } catch (error) {
      storeFailed(error)
    }
    const { state, liveUntil = Infinity } = typeof answer === 'string' ? { state: answer } : answer
    if (state === 'gone') {
      forget(sessionId)
      answers.delete(key)
      return false
    }
    const live = state === 'live'
    if (ttlMs > 0 && !gone.has(sessionId) && !overtaken.has(key)) {
      const until = live && feed !== undefined ? liveUntil : askedAt + ttlMs
      remember(sessionId, userId, key, {
        live,
        askedAt,
        until: Math.min(until, askedAt + feedKeepMs),
      })
    }
    return live
  }

  function isActive(sessionId: string, userId: string): boolean | Promise<boolean> {
    if (gone.has(sessionId)) return false
    const key = `${sessionId} ${userId}`
    const cached = answers.get(key)
    if (cached !== undefined && fresh(cached, clock.now())) return cached.live
    return settle(sessionId, userId, key, cached)
  }

  // The answer is not cached, or no longer fresh: poll or ask.
  async function settle(
    sessionId: string,
    userId: string,
    key: string,
    cached: Cached | undefined,
  ): Promise<boolean> {
    if (cached !== undefined && feed !== undefined && cached.live && clock.now() < cached.until) {
      await poll()
      if (gone.has(sessionId)) return false
      const polled = answers.get(key)
      // Just polled: what is still cached is as fresh as this request can have it.
      if (polled !== undefined && polled.live && clock.now() < polled.until) return true
    }
    // An answer is covered by later polls only when asked after a first poll has set the
    // watermark: a revocation between the query and that poll would be in no poll's rows.
    if (feed !== undefined && watermark === undefined) await poll()
    let answer = pending.get(key)
    if (answer === undefined) {
      answer = ask(sessionId, userId, key).finally(() => {
        pending.delete(key)
        overtaken.delete(key)
      })
      pending.set(key, answer)
    }
    const active = await answer
    // A logout through this instance while the query ran wins over its answer.
    return active && !gone.has(sessionId)
  }

  function warmUp(): void {
    if (feed !== undefined && watermark === undefined) poll().catch(() => {})
  }

  return {
    isActive,
    forget,
    warmUp,
  }
}
