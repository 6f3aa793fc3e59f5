// A poll of the revocation feed that fails may have failed on what it had to read (a backlog too
// long for the database budget, which every later poll from the same watermark would meet again):
// the next poll only takes a new watermark, and every cached answer is asked again, so the
// instance recovers without a restart and vouches for nothing it did not see.
import { assertEquals, assertRejects } from '@std/assert'
import fc from 'fast-check'
import type { RevocationFeed } from '../../functions/_shared/core/deps.ts'
import { ApiError } from '../../functions/_shared/core/errors.ts'
import { createSessionChecker } from '../../functions/_shared/sessions/session_check.ts'
import { ManualClock } from '../_helpers/jwks_server.ts'

const TTL = 1000

function setup() {
  const clock = new ManualClock()
  const polls: (string | undefined)[] = []
  const asked: string[] = []
  let failing = 0
  let xid = 100
  const feed: RevocationFeed = (watermark) => {
    polls.push(watermark)
    if (failing > 0) {
      failing--
      return Promise.reject(new Error('DATABASE_TIMEOUT'))
    }
    return Promise.resolve({ watermark: String(xid++), entries: [] })
  }
  const checker = createSessionChecker({
    query: (sessionId) => {
      asked.push(sessionId)
      return Promise.resolve('live' as const)
    },
    feed,
    ttlMs: TTL,
    size: 100,
    clock,
  })
  return { clock, checker, polls, asked, fail: (times: number) => failing = times }
}

Deno.test('after 1 to 5 failed polls (generated), with 1 to 5 cached sessions -> each failure a 503, then one poll without a watermark, and each session asked again', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 5 }),
      async (failures, count) => {
        const { clock, checker, polls, asked, fail } = setup()
        const sessions = Array.from({ length: count }, (_, i) => `s${i}`)
        for (const id of sessions) assertEquals(await checker.isActive(id, 'u'), true)
        assertEquals(polls, [undefined])
        assertEquals(asked, sessions)
        clock.advance(TTL)
        fail(failures)
        for (let i = 0; i < failures; i++) {
          const error = await assertRejects(() => Promise.resolve(checker.isActive('s0', 'u')))
          assertEquals((error as ApiError).status, 503)
        }
        for (const id of sessions) assertEquals(await checker.isActive(id, 'u'), true)
        // The first failed poll had the watermark; every one after it starts afresh.
        assertEquals(polls, [undefined, '100', ...Array(failures).fill(undefined)])
        assertEquals(asked, [...sessions, ...sessions])
        // Back to polls from the new watermark.
        clock.advance(TTL)
        assertEquals(await checker.isActive('s0', 'u'), true)
        assertEquals(polls.at(-1), '101')
      },
    ),
    { numRuns: 25 },
  )
})
