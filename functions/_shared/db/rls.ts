/**
 * Queries run as the caller, the way PostgREST runs them: inside a transaction that switches to
 * the `authenticated` role and publishes the verified claims as `request.jwt.claims`, so
 * row-level security policies (`auth.uid()`) decide what the caller may see and change.
 *
 * @module
 */
import { type Queryable, serverTimeout, type Sql, withRecovery } from './database.ts'
import { isDataException, isTransientDatabaseError } from './database_errors.ts'
import { invalidRequest, unavailable } from '../core/errors.ts'

/**
 * Runs `work` in a transaction as `authenticated` with the caller's claims, within the client's
 * time budget; PostgreSQL ends a statement or a lock wait of it after four fifths of that budget.
 * A deadlock or serialization failure runs it once more (the server rolled it back).
 *
 * @param sql the instance's client (`auth.database()`)
 * @param claims the verified token's claims, exactly as signed
 * @param work the queries to run
 * @returns what `work` returns
 * @throws {ApiError} 503 when PostgreSQL cannot serve it now (unreachable, out of time, a lock
 *   held too long, a deadlock, too many connections)
 */
export async function asAuthenticatedUser<T>(
  sql: Sql,
  claims: Readonly<Record<string, unknown>>,
  work: (tx: Queryable) => Promise<T>,
): Promise<T> {
  // Local to the transaction, like the role and claims: nothing stays on a pooled connection.
  const timeout = serverTimeout(sql)
  try {
    return await withRecovery((begun) =>
      sql.begin(async (tx) => {
        await tx`select set_config('role', 'authenticated', true),
                        set_config('request.jwt.claims', ${JSON.stringify(claims)}, true),
                        set_config('statement_timeout', ${timeout}, true),
                        set_config('lock_timeout', ${timeout}, true)`
        // The connection is alive: from here on a failure is not retried (work may write).
        begun()
        return await work(tx)
      })
    )
  } catch (error) {
    if (isTransientDatabaseError(error)) throw unavailable('databaseUnavailable', 5, error)
    // The claims and the caller's values are request data: one PostgreSQL cannot hold is a 400.
    if (isDataException(error)) throw invalidRequest('unstorableValue')
    throw error
  }
}
