/**
 * The verified-token cache: a bounded map from the exact token string to what its verification
 * produced, so a repeated token costs a map lookup and two comparisons instead of a signature check.
 *
 * It only ever saves work: a hit is re-checked against `exp` (with the verifier's clock tolerance)
 * and against the key set, and nothing is ever *refused* because of the token string. Revocation
 * is keyed on `session_id` elsewhere: one token has many valid spellings (ECDSA `s` → `n − s`,
 * unused base64url bits), so a string key can never deny access.
 *
 * @module
 */

/** What the cache keeps for a token. */
export interface TokenCacheEntry<T> {
  /** The token's `exp`, in seconds since the epoch. */
  readonly exp: number
  /** The `kid` it was verified with; `undefined` for a legacy HS256 token. */
  readonly kid: string | undefined
  /** The verification result handed back on a hit. */
  readonly value: T
}

/**
 * The memory one cached token is reckoned to hold: the token string (one byte per character, it is
 * ASCII), its decoded claims (about as large again, as JavaScript values) and a fixed overhead for
 * the map slot and the objects. Measured: 10,000 tokens of 8 KB held about 137 MiB, 14 KiB each;
 * this estimate says 16.9 KiB, erring on the safe side.
 *
 * @param token the token string
 * @returns the estimate in bytes
 */
export function entryBytes(token: string): number {
  return 2 * token.length + 512
}

/** A bounded least-recently-used map of verified tokens. */
export interface TokenCache<T> {
  /** The entry of a token, refreshed as most recently used; undefined on a miss. */
  get(token: string): TokenCacheEntry<T> | undefined
  /** Stores an entry, evicting the least recently used one past the size bound. */
  set(token: string, entry: TokenCacheEntry<T>): void
  /** The estimated memory the entries hold, in bytes (see {@linkcode entryBytes}). */
  readonly bytes: number
  /** Forgets one token. */
  delete(token: string): void
  /** Forgets every token verified with one of these kids (they left the key set). */
  dropKids(kids: ReadonlySet<string>): void
  /** Number of tokens held. */
  readonly size: number
}

/**
 * Creates a token cache.
 *
 * @param capacity the most tokens held (`config.tokenCacheSize`); 0 disables caching
 * @param maxBytes the most memory the entries may hold by {@linkcode entryBytes}
 *   (`config.tokenCacheBytes`): large tokens (big `user_metadata`) fit fewer entries
 * @returns the cache
 */
export function createTokenCache<T>(capacity: number, maxBytes = Infinity): TokenCache<T> {
  // A Map iterates in insertion order: re-inserting on each hit makes the first key the LRU one.
  const entries = new Map<string, TokenCacheEntry<T>>()
  // The LRU key is the next one this iterator yields: Map iterators are live and only move
  // forward, and every key behind it was evicted or re-inserted at the end. A new `keys()` per
  // eviction would instead step over every deleted slot at the front of the table each time,
  // about 3.6 µs per miss at 10,000 entries, a few % of a cold verification.
  let oldest: Iterator<string> | undefined
  let bytes = 0
  function evictOldest(): void {
    let next = oldest?.next()
    if (next === undefined || next.done) {
      // First eviction, or the iterator ran off the end while the map was empty behind it.
      oldest = entries.keys()
      next = oldest.next()
    }
    remove(next.value!)
  }
  function remove(token: string): void {
    if (entries.delete(token)) bytes -= entryBytes(token)
  }
  return {
    get(token) {
      const entry = entries.get(token)
      if (entry !== undefined) {
        entries.delete(token)
        entries.set(token, entry)
      }
      return entry
    },
    set(token, entry) {
      const cost = entryBytes(token)
      if (capacity === 0 || cost > maxBytes) return
      remove(token)
      entries.set(token, entry)
      bytes += cost
      while (entries.size > capacity || bytes > maxBytes) evictOldest()
    },
    delete(token) {
      remove(token)
    },
    dropKids(kids) {
      for (const [token, entry] of entries) {
        if (entry.kid !== undefined && kids.has(entry.kid)) remove(token)
      }
    },
    get bytes() {
      return bytes
    },
    get size() {
      return entries.size
    },
  }
}
