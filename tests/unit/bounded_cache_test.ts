/**
 * The bounded cache under generated sequences of operations: its bounds always hold, a value just
 * stored is held, what leaves is reported exactly once, and an entry used between evictions
 * outlives one that was not.
 *
 * @module
 */
import { assert, assertEquals } from '@std/assert'
import fc from 'fast-check'
import { createBoundedCache } from '../../functions/_shared/core/bounded_cache.ts'

type Op =
  | { kind: 'set'; key: number; size: number }
  | { kind: 'get'; key: number }
  | { kind: 'delete'; key: number }

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), key: fc.nat(12), size: fc.nat(40) }),
  fc.record({ kind: fc.constant('get' as const), key: fc.nat(12) }),
  fc.record({ kind: fc.constant('delete' as const), key: fc.nat(12) }),
)

Deno.test('bounded cache, generated operations -> bounds hold, a stored value is held, every removal reported once', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 120 }), fc.array(op), (
      maxEntries,
      maxBytes,
      ops,
    ) => {
      // What the cache should hold, as the removals it reports say.
      const model = new Map<number, number>()
      const cache = createBoundedCache<number, number>({
        maxEntries,
        maxBytes,
        sizeOf: (_, size) => size,
        onRemove: (key, value) => {
          assertEquals(model.get(key), value, `removal of ${key} reported once, with its value`)
          model.delete(key)
        },
      })
      for (const step of ops) {
        if (step.kind === 'set') {
          cache.set(step.key, step.size)
          const fits = maxEntries > 0 && step.size <= maxBytes
          if (fits) model.set(step.key, step.size)
          assertEquals(cache.get(step.key), fits ? step.size : undefined, 'a value just stored')
        } else if (step.kind === 'get') {
          assertEquals(cache.get(step.key), model.get(step.key))
        } else {
          cache.delete(step.key)
          assert(!model.has(step.key))
        }
        assert(cache.size <= maxEntries, 'entry bound')
        assert(cache.bytes <= maxBytes, 'byte bound')
        assertEquals(cache.size, model.size)
        assertEquals(cache.bytes, [...model.values()].reduce((a, b) => a + b, 0))
      }
    }),
  )
})

Deno.test('bounded cache, a key read before every store -> never evicted while others are not read', () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 8 }), fc.array(fc.nat(1_000), { minLength: 1 }), (
      maxEntries,
      keys,
    ) => {
      const cache = createBoundedCache<number, string>({ maxEntries })
      cache.set(-1, 'hot')
      for (const key of keys) {
        assertEquals(cache.get(-1), 'hot')
        cache.set(key, 'cold')
      }
      assertEquals(cache.get(-1), 'hot')
    }),
  )
})

Deno.test('bounded cache, full of entries read since stored -> a new entry is kept, the oldest leaves', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 8 }), (maxEntries) => {
      const removed: number[] = []
      const cache = createBoundedCache<number, number>({
        maxEntries,
        onRemove: (key) => removed.push(key),
      })
      for (let key = 0; key < maxEntries; key++) cache.set(key, key)
      for (let key = 0; key < maxEntries; key++) cache.get(key)
      cache.set(maxEntries, maxEntries)
      assertEquals(removed, [0])
      assertEquals(cache.get(maxEntries), maxEntries)
    }),
  )
})
