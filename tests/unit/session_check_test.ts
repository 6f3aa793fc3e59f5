// The session check's caching rules, with an injected query function standing in for the store:
// the database behaviour itself is tested against real PostgreSQL in tests/integration.
import { assert, assertEquals, assertRejects } from '@std/assert'
import { ConfigError } from '../../functions/_shared/core/config.ts'
import { ApiError } from '../../functions/_shared/core/errors.ts'
import {
  createSessionChecker,
  type SessionCheckerOptions,
} from '../../functions/_shared/sessions/session_check.ts'
import fc from 'fast-check'
import { ManualClock } from '../_helpers/jwks_server.ts'

const S1 = crypto.randomUUID()
const S2 = crypto.randomUUID()
const S3 = crypto.randomUUID()
const U1 = crypto.randomUUID()
const U2 = crypto.randomUUID()

/** A store answering from a mutable set of live sessions, counting questions. */
function store(live: Set<string>) {
  const asked: string[] = []
  let release: (() => void) | undefined
  let gate: Promise<void> | undefined
  return {
    asked,
    /** Holds every answer until release() is called. */
    hold() {
      gate = new Promise((resolve) => (release = resolve))
    },
    release: () => release?.(),
    query: async (sessionId: string) => {
      asked.push(sessionId)
      if (gate) await gate
      return live.has(sessionId) ? 'live' as const : 'gone' as const
    },
  }
}

function checker(
  query: SessionCheckerOptions['query'],
  clock: ManualClock,
  ttlMs = 1000,
  size = 100,
) {
  return createSessionChecker({ query, ttlMs, size, clock })
}

Deno.test('a live answer is reused for the TTL, then asked again', async () => {
  const clock = new ManualClock()
  const s = store(new Set([S1]))
  const sessions = checker(s.query, clock)
  assertEquals(await sessions.isActive(S1, U1), true)
  clock.advance(999)
  assertEquals(await sessions.isActive(S1, U1), true)
  assertEquals(s.asked.length, 1)
  clock.advance(1)
  assertEquals(await sessions.isActive(S1, U1), true)
  assertEquals(s.asked.length, 2)
})

Deno.test('a session that dies is noticed once the TTL has passed', async () => {
  const clock = new ManualClock()
  const live = new Set([S1])
  const sessions = checker(store(live).query, clock)
  assertEquals(await sessions.isActive(S1, U1), true)
  live.delete(S1)
  assertEquals(await sessions.isActive(S1, U1), true, 'within the TTL')
  clock.advance(1000)
  assertEquals(await sessions.isActive(S1, U1), false)
})

Deno.test('TTL 0 asks the store every time', async () => {
  const clock = new ManualClock()
  const s = store(new Set([S1]))
  const sessions = checker(s.query, clock, 0)
  for (let i = 0; i < 3; i++) assertEquals(await sessions.isActive(S1, U1), true)
  assertEquals(s.asked.length, 3)
})

Deno.test('a dead session stays dead without asking again, however long after', async () => {
  const clock = new ManualClock()
  const live = new Set<string>()
  const s = store(live)
  const sessions = checker(s.query, clock)
  assertEquals(await sessions.isActive(S1, U1), false)
  live.add(S1) // a store that changed its mind cannot resurrect it
  clock.advance(86_400_000)
  assertEquals(await sessions.isActive(S1, U1), false)
  assertEquals(s.asked.length, 1)
})

Deno.test('forget() marks a live, cached session dead at once, without a query', async () => {
  const clock = new ManualClock()
  const s = store(new Set([S1]))
  const sessions = checker(s.query, clock)
  assertEquals(await sessions.isActive(S1, U1), true)
  sessions.forget(S1)
  assertEquals(await sessions.isActive(S1, U1), false)
  assertEquals(s.asked.length, 1)
})

Deno.test('forget() during a running query wins over its "live" answer', async () => {
  const clock = new ManualClock()
  const s = store(new Set([S1]))
  s.hold()
  const sessions = checker(s.query, clock)
  const pending = sessions.isActive(S1, U1)
  sessions.forget(S1)
  s.release()
  assertEquals(await pending, false)
  assertEquals(await sessions.isActive(S1, U1), false)
})

Deno.test('concurrent checks of one session share one query', async () => {
  const clock = new ManualClock()
  const s = store(new Set([S1, S2]))
  s.hold()
  const sessions = checker(s.query, clock)
  const answers = Promise.all([
    ...Array.from({ length: 10 }, () => sessions.isActive(S1, U1)),
    sessions.isActive(S2, U1),
  ])
  s.release()
  assertEquals(await answers, Array(11).fill(true))
  assertEquals(s.asked.sort(), [S1, S2].sort())
})

Deno.test('a cached live answer is per user: another sub asks the store', async () => {
  const clock = new ManualClock()
  const asked: string[] = []
  const sessions = checker(async (session, user) => {
    asked.push(user)
    return await Promise.resolve(
      session === S1 && user === U1 ? 'live' as const : 'refused' as const,
    )
  }, clock)
  assertEquals(await sessions.isActive(S1, U1), true)
  assertEquals(await sessions.isActive(S1, U2), false)
  assertEquals(asked, [U1, U2])
})

Deno.test('a failing store -> 503 temporarily_unavailable with Retry-After, not cached (fail closed)', async () => {
  const clock = new ManualClock()
  let down = true
  const sessions = checker(
    () => down ? Promise.reject(new Error('ECONNREFUSED')) : Promise.resolve('live' as const),
    clock,
  )
  const error = await Promise.resolve(sessions.isActive(S1, U1)).catch((e) => e)
  assert(error instanceof ApiError)
  assertEquals([error.status, error.code, error.descriptionKey], [
    503,
    'temporarily_unavailable',
    'sessionStoreUnavailable',
  ])
  assert(error.retryAfter !== undefined && error.retryAfter >= 1)
  down = false
  assertEquals(await sessions.isActive(S1, U1), true)
})

Deno.test('a configuration error in the store is passed on (500 misconfigured, not 503)', async () => {
  const sessions = checker(
    () => Promise.reject(new ConfigError('SUPABASE_DB_URL', 'is required')),
    new ManualClock(),
  )
  await assertRejects(async () => await sessions.isActive(S1, U1), ConfigError)
})

Deno.test('the caches are bounded: the oldest live and dead entries are evicted', async () => {
  const clock = new ManualClock()
  const s = store(new Set([S1, S2, S3]))
  const sessions = checker(s.query, clock, 60_000, 2)
  for (const session of [S1, S2, S3]) await sessions.isActive(session, U1)
  await sessions.isActive(S1, U1)
  assertEquals(s.asked, [S1, S2, S3, S1], 'S1 had been evicted')
  const dead = store(new Set())
  const gone = checker(dead.query, clock, 60_000, 2)
  for (const session of [S1, S2, S3, S1]) assertEquals(await gone.isActive(session, U1), false)
  assertEquals(dead.asked, [S1, S2, S3, S1])
})

Deno.test('a refused answer (a ban) is re-checked after the TTL: a ban that ends lets the user back in', async () => {
  const clock = new ManualClock()
  let banned = true
  const sessions = checker(() => Promise.resolve(banned ? 'refused' : 'live'), clock)
  assertEquals(await sessions.isActive(S1, U1), false)
  banned = false
  assertEquals(await sessions.isActive(S1, U1), false, 'within the TTL the refusal is reused')
  clock.advance(1001)
  assertEquals(await sessions.isActive(S1, U1), true)
})

Deno.test('generated interleavings: a (user, session) pair that does not own the session never changes the answer for its owner', async () => {
  const users = Array.from({ length: 4 }, () => crypto.randomUUID())
  const sessionIds = Array.from({ length: 6 }, () => crypto.randomUUID())
  // Each session belongs to one user; a seventh id exists for nobody.
  const owner = new Map<string, string>(
    sessionIds.map((session, i) => [session, users[i % users.length]!]),
  )
  const unknown = crypto.randomUUID()
  const model = (session: string, user: string) =>
    Promise.resolve(
      owner.get(session) === undefined
        ? 'gone' as const
        : owner.get(session) === user
        ? 'live' as const
        : 'refused' as const,
    )
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.tuple(
          fc.constantFrom(...sessionIds, unknown),
          fc.constantFrom(...users),
          fc.integer({ min: 0, max: 1500 }),
        ),
        { minLength: 1, maxLength: 60 },
      ),
      async (steps) => {
        const clock = new ManualClock()
        const sessions = checker(model, clock, 1000, 4)
        for (const [session, user, wait] of steps) {
          clock.advance(wait)
          const expected = owner.get(session) === user
          assertEquals(await sessions.isActive(session, user), expected)
        }
      },
    ),
    { numRuns: 300 },
  )
})
