// The revocation feed on the real PostgreSQL and auth server: the triggers write what revokes,
// a poll sees a logout whose transaction committed after a later one's (the xid8 watermark), a
// ban that ends lets the user back in, deleted users' sessions are refused, old rows are pruned,
// and the polls go through the functions' own path to the database (PgBouncer in the pooler
// lane). Last, queries per second at steady state: feed against per-session checks.
import { assert, assertEquals } from '@std/assert'
import { decodeJwt } from 'jose'
import postgres from 'postgres'
import { createSessionChecker } from '../../functions/_shared/sessions/session_check.ts'
import { createDatabaseClient } from '../../functions/_shared/db/database.ts'
import {
  databaseRevocationFeed,
  databaseSessionStore,
} from '../../functions/_shared/sessions/session_store.ts'
import { eventually } from '../_helpers/poll.ts'
import { measureSessionLoad } from '../bench/session_load.ts'
import {
  authAdmin,
  banUser,
  createTestUser,
  hasAuthServer,
  loginUser,
  testStack,
} from '../_helpers/stack.ts'

const ignore = !hasAuthServer
const TTL = 1000

/** A superuser connection straight to PostgreSQL (to hold transactions open). */
function direct(max = 2) {
  return postgres(testStack().dbUrl, { max, onnotice: () => {} })
}

/** The functions' path to the database: PgBouncer in transaction mode in the pooler lane. */
function functionsPath() {
  return createDatabaseClient(testStack().functionsDbUrl, { max: 2 })
}

async function sessionOf(
  user = undefined as Awaited<ReturnType<typeof createTestUser>> | undefined,
) {
  const owner = user ?? await createTestUser()
  const tokens = await loginUser(owner)
  return { user: owner, sessionId: decodeJwt(tokens.access_token).session_id as string }
}

Deno.test({
  name:
    'logouts committing out of order: A deletes a session, B another, B commits, a poll; A commits, a poll: both revocations are seen, A in the second poll',
  ignore,
  async fn() {
    const sql = direct(4)
    const pool = functionsPath()
    const feed = databaseRevocationFeed(() => pool, 604_800)
    const a = await sessionOf()
    const b = await sessionOf()
    const txA = await sql.reserve()
    const txB = await sql.reserve()
    try {
      let { watermark } = await feed(undefined, false)
      await txA`begin`
      await txA`delete from auth.sessions where id = ${a.sessionId}`
      await txB`begin`
      await txB`delete from auth.sessions where id = ${b.sessionId}`
      await txB`commit`
      const first = await feed(watermark, false)
      const ended = (page: typeof first) =>
        page.entries.filter((e) => e.reason === 'session_ended').map((e) => e.sessionId)
      assert(ended(first).includes(b.sessionId), 'B committed')
      assert(!ended(first).includes(a.sessionId), 'A has not committed')
      assert(
        BigInt(first.watermark) <=
          BigInt((await txA`select pg_current_xact_id()::text as x`)[0]!.x),
      )
      watermark = first.watermark
      await txA`commit`
      const second = await feed(watermark, false)
      assert(ended(second).includes(a.sessionId), "A's row, below B's xid, still comes")
      const row = second.entries.find((e) => e.sessionId === a.sessionId)!
      assertEquals(row.userId, a.user.id)
    } finally {
      txA.release()
      txB.release()
      await sql.end()
      await pool.end()
    }
  },
})

Deno.test({
  name:
    'concurrent logouts in many overlapping transactions, committed in random order, with a checker polling meanwhile: every session is refused a TTL after its commit',
  ignore,
  async fn() {
    const sql = direct(10)
    const pool = functionsPath()
    const checker = createSessionChecker({
      query: databaseSessionStore(() => pool),
      feed: databaseRevocationFeed(() => pool, 604_800),
      ttlMs: TTL,
      size: 1000,
    })
    const user = await createTestUser()
    const sessions = await Promise.all(
      Array.from({ length: 6 }, async () => (await sessionOf(user)).sessionId),
    )
    for (const s of sessions) assertEquals(await checker.isActive(s, user.id), true)
    const txs = await Promise.all(sessions.map(() => sql.reserve()))
    try {
      for (const [i, tx] of txs.entries()) {
        await tx`begin`
        await tx`delete from auth.sessions where id = ${sessions[i]!}`
      }
      // Commit in reverse order of xid, polling in between.
      const committedAt = new Map<string, number>()
      for (const i of [5, 3, 1, 4, 0, 2]) {
        await txs[i]!`commit`
        committedAt.set(sessions[i]!, performance.now())
        await new Promise((resolve) => setTimeout(resolve, 300))
        for (const s of sessions) await checker.isActive(s, user.id)
      }
      for (const s of sessions) {
        await eventually(async () => (await checker.isActive(s, user.id)) ? undefined : true, {
          since: committedAt.get(s)!,
          timeoutMs: TTL + 500,
          what: `session ${s} refused`,
        })
      }
    } finally {
      for (const tx of txs) tx.release()
      await sql.end()
      await pool.end()
    }
  },
})

Deno.test({
  name:
    'a ban writes a user row; the checker refuses within the TTL and lets the user back in once the ban ends; a soft delete and a delete write user rows and refuse',
  ignore,
  async fn() {
    const pool = functionsPath()
    const feed = databaseRevocationFeed(() => pool, 604_800)
    const checker = createSessionChecker({
      query: databaseSessionStore(() => pool),
      feed,
      ttlMs: TTL,
      size: 100,
    })
    try {
      const { user, sessionId } = await sessionOf()
      const { watermark } = await feed(undefined, false)
      assertEquals(await checker.isActive(sessionId, user.id), true)
      await banUser(user.id, '2s')
      const bannedAt = performance.now()
      await eventually(
        async () => (await checker.isActive(sessionId, user.id)) ? undefined : true,
        {
          since: bannedAt,
          timeoutMs: TTL + 500,
          what: 'the banned user refused',
        },
      )
      const page = await feed(watermark, false)
      assert(page.entries.some((e) => e.reason === 'user_banned' && e.userId === user.id))
      await eventually(async () => (await checker.isActive(sessionId, user.id)) || undefined, {
        since: bannedAt,
        timeoutMs: 2000 + TTL + 2000,
        what: 'back in once the ban ended',
      })

      for (const soft of [true, false]) {
        const other = await sessionOf()
        const mark = (await feed(undefined, false)).watermark
        assertEquals(await checker.isActive(other.sessionId, other.user.id), true)
        const response = await authAdmin(`users/${other.user.id}`, {
          method: 'DELETE',
          body: JSON.stringify({ should_soft_delete: soft }),
        })
        assertEquals(response.status, 200, await response.text())
        const since = performance.now()
        await eventually(
          async () => (await checker.isActive(other.sessionId, other.user.id)) ? undefined : true,
          { since, timeoutMs: TTL + 500, what: `${soft ? 'soft-' : ''}deleted user refused` },
        )
        const reasons = (await feed(mark, false)).entries
          .filter((e) => e.userId === other.user.id).map((e) => e.reason)
        assert(
          reasons.includes(soft ? 'user_soft_deleted' : 'user_deleted') ||
            (soft && reasons.includes('session_ended')),
          `rows for the user: ${reasons}`,
        )
      }
    } finally {
      await pool.end()
    }
  },
})

Deno.test({
  name:
    'a poll that prunes deletes rows older than the longest token life (at least an hour) and keeps the rest; the log is out of reach of the API roles',
  ignore,
  async fn() {
    const sql = direct()
    const pool = functionsPath()
    try {
      const [old, kept, young] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()]
      await sql`
        insert into edge_auth.revocations (session_id, reason, at) values
          (${old}, 'session_ended', now() - interval '8 days'),
          (${kept}, 'session_ended', now() - interval '30 minutes'),
          (${young}, 'session_ended', now())`
      const ids = async () =>
        (await sql`select session_id from edge_auth.revocations
          where session_id in (${old}, ${kept}, ${young})`).map((r) => r.session_id).sort()
      await databaseRevocationFeed(() => pool, 604_800)(undefined, false)
      assertEquals((await ids()).length, 3, 'a poll without prune deletes nothing')
      // A caller asking for 60 s is held to an hour: one instance cannot empty the log.
      await databaseRevocationFeed(() => pool, 60)(undefined, true)
      assertEquals(await ids(), [kept, young].sort())
      for (const role of ['anon', 'authenticated']) {
        const [rights] = await sql`
          select has_function_privilege(${role},
                   'public.auth_revocations_since(xid8, integer)', 'execute') as poll,
                 has_function_privilege(${role},
                   'public.auth_session_lookup(uuid, uuid)', 'execute') as lookup,
                 has_schema_privilege(${role}, 'edge_auth', 'usage') as schema`
        assertEquals(rights, { poll: false, lookup: false, schema: false }, role)
      }
    } finally {
      await sql.end()
      await pool.end()
    }
  },
})

Deno.test({
  name:
    'queries per second at steady state for 1, 100 and 10,000 live sessions on one instance: about 1 with the feed, about one per session without',
  ignore,
  async fn() {
    const stack = testStack()
    const user = await createTestUser()
    const results = await measureSessionLoad({
      adminDbUrl: stack.dbUrl,
      functionsDbUrl: stack.functionsDbUrl,
      userId: user.id,
      sizes: [1, 100, 10_000],
      seconds: 3,
      ttlMs: TTL,
    })
    console.log(
      results.map((r) =>
        `${r.sessions} sessions, ${r.mode}: ${
          r.queriesPerSecond.toFixed(1)
        } queries/s (${r.passes} passes)`
      ).join('\n'),
    )
    for (const r of results.filter((r) => r.mode === 'feed')) {
      assert(
        r.queriesPerSecond < 3,
        `feed, ${r.sessions} sessions: ${r.queriesPerSecond} queries/s`,
      )
    }
    // Without the feed the load follows the sessions: the comparison is not vacuous.
    const perSession = results.find((r) => r.mode === 'per-session' && r.sessions === 100)!
    assert(
      perSession.queriesPerSecond > 20,
      `per-session, 100 sessions: ${perSession.queriesPerSecond}`,
    )
  },
})

Deno.test({
  name:
    "the existence query gives a live session's not_after, so a cached answer ends with it; a passed not_after is refused",
  ignore,
  async fn() {
    const sql = direct()
    const pool = functionsPath()
    try {
      const store = databaseSessionStore(() => pool)
      const { user, sessionId } = await sessionOf()
      assertEquals(await store(sessionId, user.id), 'live')
      const [row] = await sql`
        update auth.sessions set not_after = now() + interval '1 hour' where id = ${sessionId}
        returning not_after as at`
      assertEquals(await store(sessionId, user.id), {
        state: 'live',
        liveUntil: new Date(row!.at).getTime(),
      })
      await sql`update auth.sessions set not_after = now() - interval '1 second'
        where id = ${sessionId}`
      assertEquals(await store(sessionId, user.id), 'refused')
    } finally {
      await sql.end()
      await pool.end()
    }
  },
})
