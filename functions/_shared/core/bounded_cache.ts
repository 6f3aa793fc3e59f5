/**
 * The one bounded cache: a map with a bound on entries and, optionally, on the bytes its entries
 * are reckoned to hold, evicting the least recently used entry first as a second-chance (CLOCK)
 * cache does. The verified-token cache and the session check's caches are built on it, so every
 * cache of an instance has a memory bound.
 *
 * @module
 */

/** Options of {@linkcode createBoundedCache}. */
export interface BoundedCacheOptions<K, V> {
  /** The most entries held; 0 holds nothing. */
  maxEntries: number
  /** The most bytes the entries may hold by `sizeOf` (default unbounded). */
  maxBytes?: number
  /** The memory an entry is reckoned to hold, in bytes (default 0: bounded by entries only). */
  sizeOf?: (key: K, value: V) => number
  /** Told of every entry that leaves the cache (evicted, deleted or replaced), for indexes. */
  onRemove?: (key: K, value: V) => void
}

/** A bounded map that evicts the least recently used entries first. */
export interface BoundedCache<K, V> {
  /** The value of a key, marked as used since its last turn; undefined on a miss. */
  get(key: K): V | undefined
  /** True when the key is held; does not refresh it. */
  has(key: K): boolean
  /**
   * Stores a value as most recently used, then evicts least recently used entries past the
   * bounds. An entry larger than `maxBytes` on its own is not stored.
   */
  set(key: K, value: V): void
  /** Forgets a key. */
  delete(key: K): void
  /** Forgets every entry the predicate selects. */
  deleteWhere(predicate: (key: K, value: V) => boolean): void
  /** Number of entries held. */
  readonly size: number
  /** The bytes the entries are reckoned to hold. */
  readonly bytes: number
}

/**
 * Creates a bounded cache.
 *
 * @param options the bounds and how an entry is sized
 * @returns the cache
 */
export function createBoundedCache<K, V>(options: BoundedCacheOptions<K, V>): BoundedCache<K, V> {
  const { maxEntries, maxBytes = Infinity, sizeOf = () => 0, onRemove } = options
  // A Map iterates in insertion order, oldest first. A hit only marks its entry used: moving it
  // to the end on every hit (a delete and a set) would cost each cached request two more hash
  // operations on keys as long as a token. Eviction gives a used entry a second chance instead:
  // it moves to the end, unmarked, and the next oldest is tried.
  const entries = new Map<K, { value: V; bytes: number; used: boolean }>()
  // The oldest key is the next one this iterator yields: Map iterators are live and only move
  // forward, and every key behind it was evicted or moved to the end. A new `keys()` per
  // eviction would instead step over every deleted slot at the front of the table each time,
  // about 3.6 µs per miss at 10,000 entries, a few % of a cold token verification.
  let oldest: Iterator<K> | undefined
  let bytes = 0

  function remove(key: K): void {
    const entry = entries.get(key)
    if (entry === undefined) return
    entries.delete(key)
    bytes -= entry.bytes
    onRemove?.(key, entry.value)
  }

  function nextOldest(): IteratorResult<K> {
    let next = oldest?.next()
    if (next === undefined || next.done) {
      // First eviction, or the iterator ran off the end while the map was empty behind it.
      oldest = entries.keys()
      next = oldest.next()
    }
    return next
  }

  // Evicts the oldest entry not used since its last turn, never `kept` (the one just stored,
  // which would otherwise go first whenever every other entry is in use).
  function evictOldest(kept: K): void {
    // Ends: each turn unmarks an entry, so within two passes an unmarked one comes up.
    for (let next = nextOldest(); !next.done; next = nextOldest()) {
      const entry = entries.get(next.value)!
      if (!entry.used && next.value !== kept) return remove(next.value)
      entry.used = false
      entries.delete(next.value)
      entries.set(next.value, entry)
    }
  }

  return {
    get(key) {
      const entry = entries.get(key)
      if (entry === undefined) return undefined
      entry.used = true
      return entry.value
    },
    has: (key) => entries.has(key),
    set(key, value) {
      const size = sizeOf(key, value)
      remove(key)
      if (maxEntries === 0 || size > maxBytes) return
      entries.set(key, { value, bytes: size, used: false })
      bytes += size
      while (entries.size > maxEntries || bytes > maxBytes) evictOldest(key)
    },
    delete: remove,
    deleteWhere(predicate) {
      for (const [key, entry] of entries) if (predicate(key, entry.value)) remove(key)
    },
    get size() {
      return entries.size
    },
    get bytes() {
      return bytes
    },
  }
}
