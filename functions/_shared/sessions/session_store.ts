/**
 * The session store of production: `public.auth_session_state` in PostgreSQL (migration
 * `20260101000500_auth_session_state.sql`), a `SECURITY DEFINER` function because `auth.sessions`
 * has row level security with no policies.
 *
 * @module
 */
import type postgres from 'postgres'
import type { SessionState, SessionStore } from '../core/deps.ts'
import { withRecovery } from '../db/database.ts'

/**
 * Builds the session store on the instance's database client.
 *
 * @param database the client, opened on first use (so `dbUrl` is needed when the store is first
 *   asked, not before)
 * @returns the store
 */
export function databaseSessionStore(database: () => postgres.Sql): SessionStore {
  return async (sessionId, userId) => {
    const sql = database()
    // A read: safe to repeat when the pool handed it a connection that had closed.
    const rows = await withRecovery(sql, () =>
      sql`
      select public.auth_session_state(${sessionId}::uuid, ${userId}::uuid) as state`)
    const state = rows[0]?.state
    // Anything unexpected is a refusal, never "live" (fail closed).
    return state === 'live' || state === 'gone' ? state as SessionState : 'refused'
  }
}
