/**
 * Queries run as the caller, the way PostgREST runs them: inside a transaction that switches to
 * the `authenticated` role and publishes the verified claims as `request.jwt.claims`, so
 * row-level security policies (`auth.uid()`) decide what the caller may see and change.
 *
 * @module
 */
import { type Queryable, type Sql, withRecovery } from './database.ts'
import { isDatabaseUnavailable, isDataException } from './database_errors.ts'
import { invalidRequest, unavailable } from '../core/errors.ts'

/**
 * Runs `work` in a transaction as `authenticated` with the caller's claims.
 *
 * @param sql the shared client (`database(config)`)
 * @param claims the verified token's claims, exactly as signed
 * @param work the queries to run
 * @returns what `work` returns
 * @throws {ApiError} 503 when PostgreSQL cannot be reached
 */
export async function asAuthenticatedUser<T>(
  sql: Sql,
  claims: Readonly<Record<string, unknown>>,
  work: (tx: Queryable) => Promise<T>,
): Promise<T> {
  try {
    return await withRecovery((begun) =>
      sql.begin(async (tx) => {
        await tx`select set_config('role', 'authenticated', true),
                        set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`
        // The connection is alive: from here on a failure is not retried (work may write).
        begun()
        return await work(tx)
      })
    )
  } catch (error) {
    if (isDatabaseUnavailable(error)) throw unavailable('databaseUnavailable', 5, error)
    // The claims and the caller's values are request data: one PostgreSQL cannot hold is a 400.
    if (isDataException(error)) throw invalidRequest('unstorableValue')
    throw error
  }
}
