/**
 * What an instance depends on outside itself, and can be given instead: a clock, a fetch, a
 * session store, a database. `auth/authenticate.ts` adds the authentication services to make the
 * one dependency shape every `create<Name>App(config, deps)` takes.
 *
 * @module
 */
import type postgres from 'postgres'
import type { Clock } from './clock.ts'

/**
 * What a session store says of a (session, user) pair: `live`; `gone` (no such session exists,
 * for anyone: dead for good); `refused` (the session exists but this user may not use it now: a
 * ban, a soft-deleted user, another user's session id).
 */
export type SessionState = 'live' | 'gone' | 'refused'

/** Asks the session store about `sessionId` for `userId`. */
export type SessionStore = (sessionId: string, userId: string) => Promise<SessionState>

/** The outside dependencies of an instance, for tests and special deployments. */
export interface ServiceDeps {
  /** Time for every rule that depends on it (default the system clock). */
  clock?: Clock
  /** The fetch the JWKS and Supabase Auth are reached through (default the global fetch). */
  fetch?: typeof fetch
  /** The session store (default `public.auth_session_state` through `SUPABASE_DB_URL`). */
  sessionStore?: SessionStore
  /** The PostgreSQL client (default one per instance from `SUPABASE_DB_URL`, opened on first use). */
  database?: () => postgres.Sql
}
