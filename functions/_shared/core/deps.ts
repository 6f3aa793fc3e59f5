/**
 * What an instance depends on outside itself, and can be given instead: a clock, a fetch, a
 * session store, a database. `auth/authenticate.ts` adds the authentication services to make the
 * one dependency shape every `create<Name>App(config, deps)` takes.
 *
 * @module
 */
import type { Clock } from './clock.ts'

/**
 * What a session store says of a (session, user) pair: `live`; `gone` (no such session exists,
 * for anyone: dead for good); `refused` (the session exists but this user may not use it now: a
 * ban, a soft-deleted user, another user's session id).
 */
export type SessionState = 'live' | 'gone' | 'refused'

/** A store's answer with, for a live session, the time (ms since the epoch) it ends by itself. */
export interface SessionAnswer {
  /** The state. */
  state: SessionState
  /** When a live session stops being live without any write (its `not_after`). */
  liveUntil?: number
}

/** Asks the session store about `sessionId` for `userId`. */
export type SessionStore = (
  sessionId: string,
  userId: string,
) => Promise<SessionState | SessionAnswer>

/**
 * One entry of the revocation log: a session that ended, or a user banned, soft-deleted or
 * deleted. `xid` is the writing transaction's id (xid8, as decimal text).
 */
export interface Revocation {
  /** The log row's id, unique: the same row may come in several polls. */
  id: string
  /** The writing transaction's id. */
  xid: string
  /** The reason. */
  reason: 'session_ended' | 'user_banned' | 'user_soft_deleted' | 'user_deleted'
  /** The ended session (for `session_ended`). */
  sessionId?: string
  /** The user. */
  userId?: string
}

/** What one poll of the revocation log returns. */
export interface RevocationPage {
  /** The watermark for the next poll (the poll snapshot's xmin, xid8 as text). */
  watermark: string
  /** The rows written by transactions with an id at or above the given watermark. */
  entries: Revocation[]
}

/**
 * One poll of the revocation log: rows since `watermark` (undefined on the first poll, which only
 * establishes the watermark); with `prune`, rows older than the longest token life are deleted.
 */
export type RevocationFeed = (
  watermark: string | undefined,
  prune: boolean,
) => Promise<RevocationPage>

/** The outside dependencies of an instance, for tests and special deployments. */
export interface ServiceDeps {
  /** Time for every rule that depends on it (default the system clock). */
  clock?: Clock
  /** The fetch the JWKS and Supabase Auth are reached through (default the global fetch). */
  fetch?: typeof fetch
  /** The session store (default `public.auth_session_state` through `SUPABASE_DB_URL`). */
  sessionStore?: SessionStore
  /**
   * The revocation log (default `public.auth_revocations_since` through `SUPABASE_DB_URL`, unless
   * a `sessionStore` is injected without one: then every answer is re-asked after the TTL).
   */
  revocationFeed?: RevocationFeed
}
