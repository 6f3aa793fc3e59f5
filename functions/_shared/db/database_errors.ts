/**
 * What a failed query means for the caller: the database cannot serve it now (503, retry later,
 * fail closed), PostgreSQL refused a value from the request (400), or neither (a bug: 500).
 *
 * @module
 */

/** The code of a {@linkcode DatabaseTimeoutError}. */
export const DATABASE_TIMEOUT = 'DATABASE_TIMEOUT'

/**
 * A query or transaction that did not finish within the client's time budget (the wait for a
 * pooled connection, connecting, the statements): its connection was closed, never pooled again,
 * and whether a write in it committed is unknown.
 */
export class DatabaseTimeoutError extends Error {
  override name = 'DatabaseTimeoutError'
  /** Always {@linkcode DATABASE_TIMEOUT}. */
  readonly code = DATABASE_TIMEOUT

  /**
   * @param timeoutMs the budget that passed
   */
  constructor(readonly timeoutMs: number) {
    super(`The database did not answer within ${timeoutMs} ms`)
  }
}

/**
 * Error codes meaning "the server is not there": postgres.js's own for a connection (`CONNECT_TIMEOUT`:
 * not ready within `connect_timeout`; `CONNECTION_CLOSED`: the server or the network closed it;
 * `CONNECTION_DESTROYED`: closed by the client, past its time budget; `CONNECTION_ENDED`: the
 * client was ended), the socket's, and the SQLSTATEs of a server going away or full.
 */
const CONNECTION_CODES: ReadonlySet<string> = new Set([
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '57P05', // idle_session_timeout
  '53300', // too_many_connections
])

/**
 * SQLSTATEs of a statement that failed for what ran beside it, not for what it is: the same
 * statement may succeed a moment later. Each ended the statement's transaction with nothing of it
 * committed.
 */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available: lock_timeout passed
  '57014', // query_canceled: statement_timeout passed, or pg_cancel_backend
  '25006', // read_only_sql_transaction: a read-only database (disk-full mode, a standby)
])

/** SQLSTATEs after which the whole transaction may run again at once: the server rolled it back. */
const CONFLICT_CODES: ReadonlySet<string> = new Set(['40001', '40P01'])

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/**
 * Whether `error` means PostgreSQL is unreachable or shutting down.
 *
 * @param error what a query threw
 * @returns true for connection failures, false for query errors
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  // postgres.js codes every socket failure; SQLSTATE class 08 is the server's.
  const code = codeOf(error)
  if (code === undefined) return false
  if (CONNECTION_CODES.has(code) || code.startsWith('08')) return true
  // A FATAL error ends the connection: a pooler refusing one (Supavisor answers XX000 when it
  // has no room), a server going away. Wrong credentials or database are a deployment fault.
  const severity = (error as { severity?: unknown }).severity
  return (severity === 'FATAL' || severity === 'PANIC') && !code.startsWith('28') &&
    code !== '3D000'
}

/**
 * Whether `error` is the database failing to serve now, whatever the request: unreachable, out
 * of time ({@linkcode DatabaseTimeoutError}, `statement_timeout`, `lock_timeout`), a cancelled
 * statement, a deadlock or serialization failure, out of resources (SQLSTATE class 53: too many
 * connections, out of memory, disk full). The caller answers 503 with `Retry-After`, never 500.
 *
 * @param error what a query threw
 * @returns true when retrying later may succeed
 */
export function isTransientDatabaseError(error: unknown): boolean {
  const code = codeOf(error)
  if (code === undefined) return false
  return isDatabaseUnavailable(error) || code === DATABASE_TIMEOUT || TRANSIENT_CODES.has(code) ||
    code.startsWith('53')
}

/**
 * Whether `error` is a deadlock or a serialization failure: the server rolled the transaction
 * back, so running it again cannot apply anything twice.
 *
 * @param error what a query threw
 * @returns true for SQLSTATE 40P01 and 40001
 */
export function isConflict(error: unknown): boolean {
  const code = codeOf(error)
  return code !== undefined && CONFLICT_CODES.has(code)
}

/**
 * Whether `error` is PostgreSQL refusing a value (SQLSTATE class 22, data exception: a NUL in
 * text or jsonb, a date out of range, an invalid number). Values come from the request, so the
 * answer is a 400, never a 500.
 *
 * @param error what a query threw
 * @returns true for a data exception
 */
export function isDataException(error: unknown): boolean {
  const code = codeOf(error)
  return code !== undefined && /^22[0-9A-Z]{3}$/.test(code)
}
