/**
 * Tells a database that cannot be reached from a query that failed: the first is a 503 (retry
 * later, fail closed), the second a bug.
 *
 * @module
 */

/** Connection error codes (`pg_errors.ts`) and SQLSTATEs meaning "the server is not there". */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  // A server (or something in its place) speaking nonsense: fail closed, and retry later.
  'PROTOCOL_VIOLATION',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '57P05', // idle_session_timeout
  '53300', // too_many_connections
])

/**
 * Whether `error` means PostgreSQL is unreachable or shutting down.
 *
 * @param error what a query threw
 * @returns true for connection failures, false for query errors
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  // The client codes every socket failure (`pg_errors.ts`); SQLSTATE class 08 is the server's.
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && (CONNECTION_CODES.has(code) || code.startsWith('08'))
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
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code)
}
