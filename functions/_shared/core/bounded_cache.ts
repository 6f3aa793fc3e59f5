/**
 * The one bounded cache: a least-recently-used map with a bound on entries and, optionally, on
 * the bytes its entries are reckoned to hold. The verified-token cache and the session check's
 * caches are built on it, so every cache of an instance has a memory bound.
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

/** A bounded least-recently-used map. */
export interface BoundedCache<K, V> {
  /** The value of a key, refreshed as most recently used; undefined on a miss. */
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
  // A Map iterates in insertion order: re-inserting on each hit makes the first key the LRU one.
  const entries = new Map<K, { value: V; bytes: number }>()
  // The LRU key is the next one this iterator yields: Map iterators are live and only move
  // forward, and every key behind it was evicted or re-inserted at the end. A new `keys()` per
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

  function evictOldest(): void {
    let next = oldest?.next()
    if (next === undefined || next.done) {
      // First eviction, or the iterator ran off the end while the map was empty behind it.
      oldest = entries.keys()
      next = oldest.next()
    }
    if (!next.done) remove(next.value)
  }

  return {
    get(key) {
      const entry = entries.get(key)
      if (entry === undefined) return undefined
      entries.delete(key)
      entries.set(key, entry)
      return entry.value
    },
    has: (key) => entries.has(key),
    set(key, value) {
      const size = sizeOf(key, value)
      remove(key)
      if (maxEntries === 0 || size > maxBytes) return
      entries.set(key, { value, bytes: size })
      bytes += size
      while (entries.size > maxEntries || bytes > maxBytes) evictOldest()
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
