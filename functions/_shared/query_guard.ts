/**
 * Refuses query strings on routes that take none: credentials or tokens put in a URL end up in
 * logs and browser history (RFC 6750 §5.3), so they are refused rather than ignored.
 *
 * @module
 */
import type { MiddlewareHandler } from 'hono'
import { invalidRequest } from './errors.ts'

/**
 * A middleware answering 400 `invalid_request` when the URL carries a query parameter outside
 * `allowed`. Parameter names and values are never echoed.
 *
 * @param allowed the parameters the route accepts
 * @returns the middleware
 */
export function rejectQueryParameters(allowed: readonly string[] = []): MiddlewareHandler {
  return async (c, next) => {
    const query = new URL(c.req.url).searchParams
    for (const name of query.keys()) {
      if (!allowed.includes(name)) throw invalidRequest('credentialsInQuery')
    }
    await next()
  }
}
