/**
 * The session store and revocation feed of production, in PostgreSQL: `public.auth_session_lookup`
 * (migrations `20260101000500_auth_session_state.sql`, `20260101000700_auth_revocation_feed.sql`)
 * and `public.auth_revocations_since`, `SECURITY DEFINER` functions because `auth.sessions` has
 * row level security with no policies and the log is reachable by no API role. Each carries a
 * `lock_timeout` (migration `20261206000200_session_lock_order.sql`), and each statement here
 * runs within the client's time budget: a table locked by a migration or a stuck server is a
 * 503 within that budget, never a request that hangs.
 *
 * @module
 */
import type { Revocation, RevocationFeed, SessionStore } from '../core/deps.ts'
import { unavailable } from '../core/errors.ts'
import { type Sql, withRecovery } from '../db/database.ts'
import { isTransientDatabaseError } from '../db/database_errors.ts'

/**
 * Builds the session store on the instance's database client.
 *
 * @param database the client, opened on first use (so `dbUrl` is needed when the store is first
 *   asked, not before)
 * @returns the store
 */
export function databaseSessionStore(database: () => Sql): SessionStore {
  return async (sessionId, userId) => {
    const sql = database()
    // A read: safe to repeat when the pool handed it a connection that had closed.
    const rows = await withRecovery(() =>
      sql`
      select state, not_after from public.auth_session_lookup(${sessionId}::uuid, ${userId}::uuid)`
    )
    const row = rows[0]
    // Anything unexpected is a refusal, never "live" (fail closed).
    if (row?.state === 'gone') return 'gone'
    if (row?.state !== 'live') return 'refused'
    // A session without a `not_after` stays live until a write says otherwise.
    if (row.not_after === null) return 'live'
    return { state: 'live', liveUntil: new Date(row.not_after as Date).getTime() }
  }
}

const REASONS: ReadonlySet<Revocation['reason']> = new Set<Revocation['reason']>([
  'session_ended',
  'user_banned',
  'user_soft_deleted',
  'user_deleted',
])
const XID = /^[0-9]{1,20}$/

/**
 * Builds the revocation feed on the instance's database client: one statement per poll, so it
 * works through a transaction pooler.
 *
 * @param database the client, opened on first use
 * @param keepSeconds how long the log keeps a row when this poll prunes (the longest token life)
 * @returns the feed
 */
export function databaseRevocationFeed(
  database: () => Sql,
  keepSeconds: number,
): RevocationFeed {
  return async (watermark, prune) => {
    const sql = database()
    // Safe to repeat: a prune deletes only what any later poll would delete too.
    const rows = await withRecovery(() =>
      sql`
      select public.auth_revocations_since(${watermark ?? null}::xid8, ${
        prune ? keepSeconds : null
      }::integer) as feed`
    )
    const feed = rows[0]?.feed as { watermark?: unknown; entries?: unknown } | undefined
    // A page that cannot be read is a failed poll (503), never an empty one.
    if (typeof feed?.watermark !== 'string' || !XID.test(feed.watermark)) {
      throw new Error('revocation feed: unexpected answer')
    }
    if (!Array.isArray(feed.entries)) throw new Error('revocation feed: unexpected answer')
    const entries: Revocation[] = feed.entries.map((row: Record<string, unknown>) => {
      if (
        typeof row.id !== 'string' || typeof row.xid !== 'string' || !XID.test(row.xid) ||
        !REASONS.has(row.reason as Revocation['reason'])
      ) throw new Error('revocation feed: unexpected row')
      return {
        id: row.id,
        xid: row.xid,
        reason: row.reason as Revocation['reason'],
        sessionId: typeof row.session_id === 'string' ? row.session_id : undefined,
        userId: typeof row.user_id === 'string' ? row.user_id : undefined,
      }
    })
    return { watermark: feed.watermark, entries }
  }
}

/** A session id no session has: its lookup reads the tables and finds nothing. */
const NO_SESSION = '00000000-0000-0000-0000-000000000000'

/**
 * Asks the store what the session check asks, for no real session: a lookup (`auth.sessions`,
 * `auth.users`) and a poll of the revocation log from the present on (`edge_auth.revocations`),
 * in one statement. It fails as a request's session check would: within the client's time
 * budget, or after 1.2 s when one of those tables is locked. For health probes.
 *
 * @param database the client, opened on first use
 * @throws what the statement threw
 */
export async function probeSessionStore(database: () => Sql): Promise<void> {
  const sql = database()
  await withRecovery(() =>
    sql`
      select
        (select state from public.auth_session_lookup(${NO_SESSION}::uuid, ${NO_SESSION}::uuid)),
        public.auth_revocations_since(
          (public.auth_revocations_since(null, null) ->> 'watermark')::xid8, null)`
  )
}

/**
 * Ends the caller's sessions in the database (`public.auth_end_sessions`, the logout path for a
 * token the auth server no longer takes): `global` every session of the user, `local` this one,
 * `others` all but this one; nothing when the caller's own session has already ended. A deadlock
 * or serialization failure is repeated once.
 *
 * @param sql the instance's client
 * @param userId the token's `sub`
 * @param sessionId the token's `session_id`
 * @param scope which sessions
 * @throws {ApiError} 503 `temporarily_unavailable` when PostgreSQL cannot serve it now
 *   (unreachable, out of time, a lock held too long, a repeated deadlock): the sessions may or
 *   may not have ended, and repeating the call is safe
 */
export async function endSessions(
  sql: Sql,
  userId: string,
  sessionId: string,
  scope: 'global' | 'local' | 'others',
): Promise<void> {
  // Ending sessions twice ends the same sessions: safe to repeat on a stale connection.
  await sessionStatement(() =>
    sql`select public.auth_end_sessions(${userId}::uuid, ${sessionId}::uuid, ${scope})`
  )
}

/**
 * Ends every session of a user (`public.auth_revoke_user_sessions`, for a server caller). A
 * deadlock or serialization failure is repeated once.
 *
 * @param sql the instance's client
 * @param userId the user
 * @returns the ids of the sessions that ended (none for an unknown user)
 * @throws {ApiError} 503 `temporarily_unavailable` when PostgreSQL cannot serve it now: the
 *   sessions may or may not have ended, and repeating the call is safe
 */
export async function revokeUserSessions(sql: Sql, userId: string): Promise<string[]> {
  // Ending a user's sessions twice ends the same sessions: safe to repeat on a stale connection.
  const rows = await sessionStatement(() =>
    sql`select public.auth_revoke_user_sessions(${userId}::uuid) as id`
  )
  return rows.map((row) => String(row.id))
}

// One statement that is safe to repeat; a database that cannot serve it now is the session
// store's 503, never a 500.
async function sessionStatement<T>(statement: () => Promise<T>): Promise<T> {
  try {
    return await withRecovery(statement)
  } catch (error) {
    if (isTransientDatabaseError(error)) throw unavailable('sessionStoreUnavailable', 5, error)
    throw error
  }
}
