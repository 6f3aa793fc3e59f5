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
import { type BoundedCache, createBoundedCache } from '../core/bounded_cache.ts'

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

/**
 * A bounded least-recently-used map of verified tokens (the one bounded cache, sized by
 * {@linkcode entryBytes}), which can also drop the tokens of keys that left the key set.
 */
export interface TokenCache<T> extends BoundedCache<string, TokenCacheEntry<T>> {
  /** Forgets every token verified with one of these kids (they left the key set). */
  dropKids(kids: ReadonlySet<string>): void
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
  const cache = createBoundedCache<string, TokenCacheEntry<T>>({
    maxEntries: capacity,
    maxBytes,
    sizeOf: entryBytes,
  })
  return Object.assign(cache, {
    dropKids(kids: ReadonlySet<string>) {
      cache.deleteWhere((_, entry) => entry.kid !== undefined && kids.has(entry.kid))
    },
  })
}
