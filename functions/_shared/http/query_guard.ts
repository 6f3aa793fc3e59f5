/**
 * The one rule for query strings, on every route: a route names the parameters it takes, each at
 * most once; any other parameter, or one given twice, is a 400 `invalid_request` naming it. A
 * parameter a route ignored would still end up in logs and browser history, and a credential in
 * a URL is one (RFC 6750 §5.3); a repeated one would leave which value counts to chance (the
 * first for one parser, the last for another).
 *
 * Parameters are read as `URLSearchParams` reads them (percent-decoded, `+` a space), the way the
 * routes read their own, so the rule and the route never see two different queries. Names are
 * case-sensitive: `Limit` is not `limit`.
 *
 * @module
 */
import { invalidRequest } from '../core/errors.ts'

/**
 * The parameters of a URL's query string, in order, or an empty list without one.
 *
 * @param url the request URL
 * @returns the parameters as `URLSearchParams` decodes them
 */
export function queryParameters(url: string): URLSearchParams {
  const query = url.indexOf('?')
  if (query === -1) return new URLSearchParams()
  const end = url.indexOf('#', query)
  return new URLSearchParams(url.slice(query + 1, end === -1 ? undefined : end))
}

/**
 * Throws for the first parameter, in the order sent, that the route does not take or that came
 * before: 400 `invalid_request` naming it (in a safe form: percent-encoded, cut to a few dozen
 * characters). Values are never shown.
 *
 * @param parameters the request's query parameters ({@linkcode queryParameters})
 * @param allowed the parameters the route takes
 * @throws {ApiError} 400 `invalid_request` (`unknownParameter` or `repeatedParameter`)
 */
export function assertQueryParameters(
  parameters: URLSearchParams,
  allowed: readonly string[] = [],
): void {
  const seen = new Set<string>()
  for (const name of parameters.keys()) {
    if (!allowed.includes(name)) throw invalidRequest('unknownParameter', name)
    if (seen.has(name)) throw invalidRequest('repeatedParameter', name)
    seen.add(name)
  }
}
