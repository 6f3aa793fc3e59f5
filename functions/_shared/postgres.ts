/**
 * edge-auth's database side, on postgres.js: PostgreSQL clients with time budgets (from a URL, or
 * a postgres.js client of your own), the session store and revocation feed the session check
 * asks, the session writes of logout and revocation, and queries run as the caller under row
 * level security. Needs the package's SQL migrations in the database.
 *
 * @example Queries as the caller, under row level security, on the session check's pool
 * ```ts
 * import { type AuthContext, authFromEnv } from '@edge-auth/edge-auth'
 * import { asAuthenticatedUser } from '@edge-auth/edge-auth/postgres'
 *
 * const auth = authFromEnv(Deno.env, { require: ['dbUrl'] })
 * export function myNotes(context: AuthContext): Promise<unknown> {
 *   return asAuthenticatedUser(auth.database(), context.claims, (tx) =>
 *     tx`select id, body from public.notes`)
 * }
 * ```
 *
 * @module
 */
export {
  createDatabaseClient,
  type DatabaseClient,
  type PostgresClient,
  type Queryable,
  type Row,
  type Sql,
  withDeadlines,
  withRecovery,
} from './db/database.ts'
export { asAuthenticatedUser } from './db/rls.ts'
export {
  DatabaseTimeoutError,
  isConflict,
  isDatabaseUnavailable,
  isDataException,
  isTransientDatabaseError,
} from './db/database_errors.ts'
export {
  databaseRevocationFeed,
  databaseSessionStore,
  endSessions,
  probeSessionStore,
  revokeUserSessions,
} from './sessions/session_store.ts'
