/**
 * Refuses query strings on routes that take none: credentials or tokens put in a URL end up in
 * logs and browser history (RFC 6750 §5.3), so they are refused rather than ignored.
 *
 * @module
 */
import { invalidRequest } from '../core/errors.ts'

/**
 * Throws 400 `invalid_request` when the URL carries a query parameter outside `allowed`.
 * Parameter names and values are never echoed.
 *
 * @param url the request URL
 * @param allowed the parameters the route accepts
 * @throws {ApiError} 400 `invalid_request`
 */
export function assertQueryParameters(url: string, allowed: readonly string[] = []): void {
  const query = url.indexOf('?')
  if (query === -1) return
  for (const name of new URLSearchParams(url.slice(query + 1)).keys()) {
    if (!allowed.includes(name)) throw invalidRequest('credentialsInQuery')
  }
}
