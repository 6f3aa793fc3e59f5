/**
 * The session store of production: `public.auth_session_state` in PostgreSQL (migration
 * `20260101000500_auth_session_state.sql`), a `SECURITY DEFINER` function because `auth.sessions`
 * has row level security with no policies.
 *
 * @module
 */
import type { Config } from './config.ts'
import { database, withRecovery } from './database.ts'
import type { SessionQuery, SessionState } from './session_check.ts'

/**
 * Builds the session query on the instance's database client.
 *
 * @param config the configuration; `dbUrl` is needed when the query first runs, not before
 * @returns the query
 */
export function databaseSessionQuery(config: Config): SessionQuery {
  return async (sessionId, userId) => {
    const sql = database(config)
    // A read: safe to repeat when the pool handed it a connection that had closed.
    const rows = await withRecovery(sql, () =>
      sql`
      select public.auth_session_state(${sessionId}::uuid, ${userId}::uuid) as state`)
    const state = rows[0]?.state
    // Anything unexpected is a refusal, never "live" (fail closed).
    return state === 'live' || state === 'gone' ? state as SessionState : 'refused'
  }
}
