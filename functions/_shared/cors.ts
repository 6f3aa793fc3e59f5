/**
 * CORS for browser callers: preflights answered before any authentication, the allow headers
 * supabase-js sends, and CORS headers on every response, errors included, so a browser can read
 * why a request failed instead of reporting a CORS error. The same pass also sets the security
 * headers every response carries: one middleware layer instead of two on every request.
 *
 * @module
 */
import type { MiddlewareHandler } from 'hono'
import { ApiError } from './errors.ts'
import { errorResponse, SECURITY_HEADERS } from './responses.ts'

/** Request headers a browser may send: what supabase-js and `functions.invoke` use. */
export const ALLOWED_HEADERS =
  'authorization, apikey, content-type, x-client-info, x-region, x-retry-count, traceparent, tracestate, baggage'

/** Options of {@linkcode cors}. */
export interface CorsOptions {
  /** `*` or the exact origins allowed. */
  origins: '*' | readonly string[]
  /** Methods the function serves (the preflight's `Access-Control-Allow-Methods`). */
  methods: readonly string[]
}

/**
 * A Hono middleware implementing CORS for one function, which also puts
 * {@linkcode SECURITY_HEADERS} on every response.
 *
 * With an explicit origin list, a request whose `Origin` is not on it is refused with 403
 * `origin_not_allowed` (preflight or not): CORS alone would still let the server act on a
 * cross-site POST such as a login or a logout.
 *
 * @param options allowed origins and the function's methods
 * @returns the middleware
 */
export function cors(options: CorsOptions): MiddlewareHandler {
  const allowMethods = [...options.methods, 'OPTIONS'].join(', ')
  return async (c, next) => {
    const origin = c.req.header('Origin')
    if (origin !== undefined && options.origins !== '*' && !options.origins.includes(origin)) {
      return errorResponse(new ApiError(403, 'origin_not_allowed', 'originNotAllowed'))
    }
    const headers = options.origins === '*' ? ANY_ORIGIN_HEADERS : listedOriginHeaders(origin)
    if (c.req.method === 'OPTIONS') return preflight(headers, allowMethods)
    await next()
    for (const [name, value] of headers) c.res.headers.set(name, value)
  }
}

/** The answer to a preflight: 204 with the response headers and the allowed methods and headers. */
function preflight(headers: readonly (readonly [string, string])[], allowMethods: string) {
  return new Response(null, {
    status: 204,
    headers: {
      ...Object.fromEntries(headers),
      'Access-Control-Allow-Methods': allowMethods,
      'Access-Control-Allow-Headers': ALLOWED_HEADERS,
      'Access-Control-Max-Age': '86400',
    },
  })
}

const EXPOSED_HEADERS = 'WWW-Authenticate, Retry-After'

const SECURITY_HEADER_LIST = Object.entries(SECURITY_HEADERS)

// With `*` the headers never depend on the request, so they are built once rather than on every
// request: this middleware runs on every call of every function.
const ANY_ORIGIN_HEADERS: readonly (readonly [string, string])[] = Object.freeze([
  ...SECURITY_HEADER_LIST,
  ['Access-Control-Allow-Origin', '*'],
  ['Access-Control-Expose-Headers', EXPOSED_HEADERS],
])

/** The headers for an explicit origin list, the request's `Origin` being on it or absent. */
function listedOriginHeaders(origin: string | undefined): [string, string][] {
  const headers: [string, string][] = [
    ...SECURITY_HEADER_LIST,
    ['Access-Control-Expose-Headers', EXPOSED_HEADERS],
    ['Vary', 'Origin'],
  ]
  // Without `Origin` the caller is not a browser: there is no origin to allow.
  if (origin !== undefined) headers.push(['Access-Control-Allow-Origin', origin])
  return headers
}
