/**
 * edge-auth's database side, on postgres.js: the instance's PostgreSQL client (from
 * `SUPABASE_DB_URL`, or a postgres.js client of your own), the session store and revocation feed
 * the session check asks, the session writes of logout and revocation, and queries run as the
 * caller under row level security. Needs the package's SQL migrations in the database.
 *
 * @example Queries as the caller, under row level security
 * ```ts
 * import { type AuthContext, loadConfig } from '@edge-auth/edge-auth'
 * import { asAuthenticatedUser, database } from '@edge-auth/edge-auth/postgres'
 *
 * const sql = database(loadConfig(Deno.env, { require: ['dbUrl'] }))
 * export function myNotes(auth: AuthContext): Promise<unknown> {
 *   return asAuthenticatedUser(sql, auth.claims, (tx) => tx`select id, body from public.notes`)
 * }
 * ```
 *
 * @module
 */
export {
  closeDatabase,
  createDatabaseClient,
  database,
  type DatabaseClient,
  databaseFor,
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
