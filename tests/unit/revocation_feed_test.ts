// The session check with a revocation feed, against a model of the log: transactions get ids in
// the order they begin and commit in any order, a poll returns the committed rows at or above the
// watermark and the oldest running id as the next one (what auth_revocations_since does on
// PostgreSQL, tested there in tests/integration/revocation_feed_test.ts). Faults are injected.
import { assert, assertEquals } from '@std/assert'
import fc from 'fast-check'
import type { Revocation, RevocationFeed } from '../../functions/_shared/core/deps.ts'
import { ApiError } from '../../functions/_shared/core/errors.ts'
import { createSessionChecker } from '../../functions/_shared/sessions/session_check.ts'
import { ManualClock } from '../_helpers/jwks_server.ts'

const TTL = 1000

/** A model database: sessions, bans, and the revocation log with transaction ids. */
class Model {
  sessions = new Map<string, string>() // session → user
  banned = new Set<string>()
  nextXid = 100n
  running = new Map<bigint, { apply: () => void; rows: Omit<Revocation, 'id' | 'xid'>[] }>()
  log: Revocation[] = []
  nextId = 1
  polls = 0
  queries = 0
  down = false

  begin(apply: () => void, rows: Omit<Revocation, 'id' | 'xid'>[]): bigint {
    const xid = this.nextXid++
    this.running.set(xid, { apply, rows })
    return xid
  }

  commit(xid: bigint): void {
    const tx = this.running.get(xid)!
    this.running.delete(xid)
    tx.apply()
    for (const row of tx.rows) {
      this.log.push({ ...row, id: String(this.nextId++), xid: String(xid) })
    }
  }

  store = (sessionId: string, userId: string) => {
    this.queries++
    if (this.down) return Promise.reject(new Error('ECONNREFUSED'))
    const owner = this.sessions.get(sessionId)
    if (owner === undefined) return Promise.resolve('gone' as const)
    return Promise.resolve(
      owner === userId && !this.banned.has(owner) ? 'live' as const : 'refused' as const,
    )
  }

  feed: RevocationFeed = (watermark) => {
    this.polls++
    if (this.down) return Promise.reject(new Error('ECONNREFUSED'))
    const xmin = [...this.running.keys()].reduce((a, b) => (b < a ? b : a), this.nextXid)
    const entries = watermark === undefined
      ? []
      : this.log.filter((row) => BigInt(row.xid) >= BigInt(watermark))
    return Promise.resolve({ watermark: String(xmin), entries })
  }
}

function setup(model: Model, clock: ManualClock, size = 100) {
  return createSessionChecker({ query: model.store, feed: model.feed, ttlMs: TTL, size, clock })
}

const S = Array.from({ length: 4 }, () => crypto.randomUUID())
const U = [crypto.randomUUID(), crypto.randomUUID()]

Deno.test('feed: one poll per TTL for the whole instance, however many live sessions', async () => {
  const model = new Model()
  const clock = new ManualClock()
  const users = Array.from({ length: 500 }, () => crypto.randomUUID())
  users.forEach((user, i) => model.sessions.set(`s${i}`, user))
  const checker = setup(model, clock, 1000)
  for (let second = 0; second < 10; second++) {
    for (let i = 0; i < users.length; i++) {
      assertEquals(await checker.isActive(`s${i}`, users[i]!), true)
    }
    clock.advance(TTL)
  }
  assertEquals(model.queries, users.length, 'each session asked once')
  assertEquals(model.polls, 10, 'one poll per second')
})

Deno.test('feed: logouts committed out of order are all seen (A begins first, commits last)', async () => {
  const model = new Model()
  const clock = new ManualClock()
  model.sessions.set(S[0]!, U[0]!)
  model.sessions.set(S[1]!, U[0]!)
  const checker = setup(model, clock)
  for (const s of [S[0]!, S[1]!]) assertEquals(await checker.isActive(s, U[0]!), true)
  const end = (s: string) =>
    model.begin(() => model.sessions.delete(s), [{ reason: 'session_ended', sessionId: s }])
  const a = end(S[0]!)
  const b = end(S[1]!)
  model.commit(b)
  clock.advance(TTL)
  assertEquals(await checker.isActive(S[1]!, U[0]!), false)
  assertEquals(await checker.isActive(S[0]!, U[0]!), true, 'A has not committed')
  model.commit(a)
  clock.advance(TTL)
  assertEquals(await checker.isActive(S[0]!, U[0]!), false, "A's row is below B's xid")
})

Deno.test('feed: a failed poll is 503 for a cached session once the feed is stale, and not before', async () => {
  const model = new Model()
  const clock = new ManualClock()
  model.sessions.set(S[0]!, U[0]!)
  const checker = setup(model, clock)
  assertEquals(await checker.isActive(S[0]!, U[0]!), true)
  model.down = true
  clock.advance(TTL - 1)
  assertEquals(await checker.isActive(S[0]!, U[0]!), true, 'within the staleness bound')
  clock.advance(1)
  const error = await Promise.resolve(checker.isActive(S[0]!, U[0]!)).catch((e) => e)
  assert(error instanceof ApiError && error.status === 503, String(error))
  model.down = false
  assertEquals(await checker.isActive(S[0]!, U[0]!), true)
})

Deno.test('feed: the first poll must succeed before any session is asked', async () => {
  const model = new Model()
  const clock = new ManualClock()
  model.sessions.set(S[0]!, U[0]!)
  model.down = true
  const checker = setup(model, clock)
  const error = await Promise.resolve(checker.isActive(S[0]!, U[0]!)).catch((e) => e)
  assert(error instanceof ApiError && error.status === 503)
  assertEquals(model.queries, 0)
})

Deno.test('feed: concurrent requests on a stale feed share one poll', async () => {
  const model = new Model()
  const clock = new ManualClock()
  S.forEach((s) => model.sessions.set(s, U[0]!))
  const checker = setup(model, clock)
  for (const s of S) await checker.isActive(s, U[0]!)
  clock.advance(TTL)
  const before = model.polls
  await Promise.all(S.flatMap((s) => [checker.isActive(s, U[0]!), checker.isActive(s, U[0]!)]))
  assertEquals(model.polls - before, 1)
})

Deno.test('feed: an entry that comes while the session query runs keeps its answer out of the cache', async () => {
  const model = new Model()
  const clock = new ManualClock()
  model.sessions.set(S[0]!, U[0]!)
  model.sessions.set(S[1]!, U[0]!)
  let release!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  const store = model.store
  let hold = false
  const checker = createSessionChecker({
    query: async (s, u) => {
      const answer = store(s, u) // read before the logout commits
      if (hold) await gate
      return answer
    },
    feed: model.feed,
    ttlMs: TTL,
    size: 10,
    clock,
  })
  assertEquals(await checker.isActive(S[1]!, U[0]!), true)
  hold = true
  const running = checker.isActive(S[0]!, U[0]!)
  await Promise.resolve()
  model.commit(
    model.begin(() => model.sessions.delete(S[0]!), [{ reason: 'session_ended', sessionId: S[0] }]),
  )
  clock.advance(TTL)
  await checker.isActive(S[1]!, U[0]!) // polls: the entry for S[0] comes now
  release()
  assertEquals(await running, false)
  assertEquals(await checker.isActive(S[0]!, U[0]!), false)
})

Deno.test('feed: a row delivered twice (an older transaction holds the watermark) is applied once', async () => {
  const model = new Model()
  const clock = new ManualClock()
  model.sessions.set(S[0]!, U[0]!)
  const checker = setup(model, clock)
  assertEquals(await checker.isActive(S[0]!, U[0]!), true)
  model.begin(() => {}, []) // never commits: the watermark stays below every later row
  model.commit(
    model.begin(() => model.banned.add(U[0]!), [{ reason: 'user_banned', userId: U[0] }]),
  )
  clock.advance(TTL)
  assertEquals(await checker.isActive(S[0]!, U[0]!), false)
  model.banned.delete(U[0]!) // the ban ends
  const queries = model.queries
  for (let i = 0; i < 3; i++) {
    clock.advance(TTL)
    assertEquals(await checker.isActive(S[0]!, U[0]!), true)
  }
  assertEquals(model.queries - queries, 1, 'the repeated row did not drop the answer again')
})

Deno.test('feed: a live session ends at its not_after with no write to report it', async () => {
  const clock = new ManualClock()
  const model = new Model()
  let queries = 0
  const checker = createSessionChecker({
    query: () => (queries++, Promise.resolve({ state: 'live', liveUntil: clock.now() + 1500 })),
    feed: model.feed,
    ttlMs: TTL,
    size: 10,
    clock,
  })
  assertEquals(await checker.isActive(S[0]!, U[0]!), true)
  clock.advance(900)
  assertEquals(await checker.isActive(S[0]!, U[0]!), true)
  clock.advance(900)
  assertEquals(await checker.isActive(S[0]!, U[0]!), true, 'asked again')
  assertEquals(queries, 2)
})

type Step =
  | { op: 'login'; s: number; u: number }
  | { op: 'logout'; s: number }
  | { op: 'ban'; u: number }
  | { op: 'unban'; u: number }
  | { op: 'deleteUser'; u: number }
  | { op: 'commit'; k: number }
  | { op: 'wait'; ms: number }
  | { op: 'check'; s: number; u: number; own: boolean }
  | { op: 'down'; down: boolean }

// Weighted towards checks (mostly by the session's owner), waits and commits: the histories that
// matter interleave open logouts with polls.
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    arbitrary: fc.record({ op: fc.constant('login' as const), s: fc.nat(3), u: fc.nat(2) }),
    weight: 3,
  },
  { arbitrary: fc.record({ op: fc.constant('logout' as const), s: fc.nat(3) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('ban' as const), u: fc.nat(2) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('unban' as const), u: fc.nat(2) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('deleteUser' as const), u: fc.nat(2) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('commit' as const), k: fc.nat(5) }), weight: 3 },
  {
    arbitrary: fc.record({
      op: fc.constant('wait' as const),
      ms: fc.oneof(fc.integer({ min: 0, max: 1500 }), fc.constant(TTL)),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      op: fc.constant('check' as const),
      s: fc.nat(3),
      u: fc.nat(2),
      own: fc.boolean(),
    }),
    weight: 8,
  },
  { arbitrary: fc.record({ op: fc.constant('down' as const), down: fc.boolean() }), weight: 1 },
)

/**
 * Runs a history against the checker and the model, asserting after every check: never "live"
 * for a pair revoked (committed) a TTL ago or more, never "refused" for a pair live and unchanged
 * for a TTL, a 503 only while the store is down.
 */
async function runHistory(steps: Step[], n: number): Promise<void> {
  const model = new Model()
  const clock = new ManualClock()
  const checker = setup(model, clock, 2 + n) // small caches: evictions too
  const sessionIds = Array.from(
    { length: 16 },
    (_, i) => `00000000-0000-4000-8000-0000000000${String(i).padStart(2, '0')}`,
  )
  const userIds = Array.from(
    { length: 3 },
    (_, i) => `10000000-0000-4000-8000-00000000000${i}`,
  )
  // When each session and user last changed (committed), on the clock.
  const changed = new Map<string, number>()
  const ever = new Set<string>() // ids issued or asked about: never issued (again)
  const issued: string[] = []
  const mark = (id: string) => changed.set(id, clock.now())
  for (const s of steps) {
    switch (s.op) {
      case 'login': {
        // A fresh id each time: Supabase never issues a session id twice.
        const id = sessionIds.find((candidate) => !ever.has(candidate))
        if (id === undefined) break
        ever.add(id)
        issued.push(id)
        model.sessions.set(id, userIds[s.u]!)
        mark(id)
        break
      }
      case 'logout': {
        const id = issued[s.s % Math.max(issued.length, 1)]
        if (id === undefined) break
        const user = model.sessions.get(id)
        if (user === undefined) break
        model.begin(() => {
          model.sessions.delete(id)
          mark(id)
        }, [{ reason: 'session_ended', sessionId: id, userId: user }])
        break
      }
      case 'ban':
      case 'deleteUser': {
        const user = userIds[s.u]!
        const ended = [...model.sessions].filter(([, u]) => u === user).map(([id]) => id)
        model.begin(
          () => {
            if (s.op === 'ban') model.banned.add(user)
            else for (const id of ended) model.sessions.delete(id), mark(id)
            mark(user)
          },
          s.op === 'ban' ? [{ reason: 'user_banned', userId: user }] : [
            ...ended.map((id) => ({ reason: 'session_ended' as const, sessionId: id })),
            { reason: 'user_deleted' as const, userId: user },
          ],
        )
        break
      }
      case 'unban':
        if (model.banned.delete(userIds[s.u]!)) mark(userIds[s.u]!)
        break
      case 'commit': {
        const xids = [...model.running.keys()]
        if (xids.length > 0) model.commit(xids[s.k % xids.length]!)
        break
      }
      case 'wait':
        clock.advance(s.ms)
        break
      case 'down':
        model.down = s.down
        break
      case 'check': {
        const session = s.own && issued.length > 0
          ? issued[s.s % issued.length]!
          : sessionIds[s.s % sessionIds.length]!
        const owner = model.sessions.get(session)
        const user = s.own && owner !== undefined ? owner : userIds[s.u]!
        ever.add(session) // an id asked about before it existed is never issued
        const live = owner === user && !model.banned.has(user)
        const settled = (id: string) => clock.now() - (changed.get(id) ?? -Infinity) >= TTL
        let answer: boolean | 'unavailable'
        try {
          answer = await checker.isActive(session, user)
        } catch (error) {
          assert(error instanceof ApiError && error.status === 503, String(error))
          assert(model.down, '503 only with the store down')
          answer = 'unavailable'
        }
        if (answer === true) {
          assert(
            live || !settled(session) || !settled(user),
            `live for a pair revoked ${clock.now() - (changed.get(session) ?? 0)} ms ago`,
          )
        }
        if (answer === false && live && settled(session) && settled(user)) {
          throw new Error('refused a pair live and unchanged for a TTL')
        }
        break
      }
    }
  }
}

Deno.test("a history with logouts committing out of order: the earlier transaction's logout is refused a TTL after its commit", async () => {
  await runHistory([
    { op: 'login', s: 0, u: 0 },
    { op: 'login', s: 1, u: 0 },
    { op: 'check', s: 0, u: 0, own: true },
    { op: 'check', s: 1, u: 0, own: true },
    { op: 'logout', s: 0 }, // A: begins first
    { op: 'logout', s: 1 }, // B
    { op: 'commit', k: 1 }, // B commits first
    { op: 'wait', ms: TTL },
    { op: 'check', s: 1, u: 0, own: true }, // polls while A runs
    { op: 'check', s: 0, u: 0, own: true },
    { op: 'commit', k: 0 },
    { op: 'wait', ms: TTL },
    { op: 'check', s: 0, u: 0, own: true },
  ], 3)
})

Deno.test('generated histories: a revocation is refused within the TTL of its commit, whatever the commit order; a live pair is live once nothing changed for a TTL; a fault is a 503, never a wrong "live"', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(step, { minLength: 1, maxLength: 80, size: 'max' }),
      fc.nat(3),
      runHistory,
    ),
    { numRuns: 500 },
  )
})
