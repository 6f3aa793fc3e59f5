/**
 * CORS for browser callers, decided on the `Request` alone: preflights answered before any
 * authentication, the allow headers supabase-js sends, and CORS headers for every response,
 * errors included, so a browser can read why a request failed instead of reporting a CORS error.
 * The same headers carry the security headers every response has: one pass instead of two on
 * every request.
 *
 * @module
 */
import { ApiError } from '../core/errors.ts'
import { errorResponse, SECURITY_HEADERS } from '../core/responses.ts'

/**
 * Request headers a browser may send: what supabase-js and `functions.invoke` use, and the
 * `MCP-Protocol-Version` an MCP client sends on every request after `initialize`.
 */
export const ALLOWED_HEADERS =
  'authorization, apikey, content-type, x-client-info, x-region, x-retry-count, traceparent, tracestate, baggage, mcp-protocol-version'

/** Options of {@linkcode createCors}. */
export interface CorsOptions {
  /** `*` or the exact origins allowed. */
  origins: '*' | readonly string[]
  /** Methods the function serves (the preflight's `Access-Control-Allow-Methods`). */
  methods: readonly string[]
}

/** Response headers, as name and value pairs. */
export type HeaderList = readonly (readonly [string, string])[]

/**
 * What CORS makes of a request: an answer of its own (a refused origin, a preflight), or the
 * headers to put on the response the function gives.
 */
export type CorsDecision =
  | { readonly answer: Response; readonly headers?: undefined }
  | { readonly answer?: undefined; readonly headers: HeaderList }

/**
 * Creates the CORS decision of one function, whose headers include {@linkcode SECURITY_HEADERS}.
 *
 * With an explicit origin list, a request whose `Origin` is not on it is refused with 403
 * `origin_not_allowed` (preflight or not): CORS alone would still let the server act on a
 * cross-site POST such as a login or a logout.
 *
 * @param options allowed origins and the function's methods
 * @returns the decision for a request
 */
export function createCors(options: CorsOptions): (request: Request) => CorsDecision {
  const allowMethods = [...options.methods, 'OPTIONS'].join(', ')
  return (request) => {
    const origin = request.headers.get('origin') ?? undefined
    if (origin !== undefined && options.origins !== '*' && !options.origins.includes(origin)) {
      return { answer: errorResponse(new ApiError(403, 'origin_not_allowed', 'originNotAllowed')) }
    }
    if (options.origins === '*') {
      return request.method === 'OPTIONS'
        ? { answer: preflight(ANY_ORIGIN_HEADERS, allowMethods) }
        : ANY_ORIGIN
    }
    const headers = listedOriginHeaders(origin)
    return request.method === 'OPTIONS' ? { answer: preflight(headers, allowMethods) } : { headers }
  }
}

/** The answer to a preflight: 204 with the response headers and the allowed methods and headers. */
function preflight(headers: HeaderList, allowMethods: string): Response {
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
const ANY_ORIGIN_HEADERS: HeaderList = Object.freeze([
  ...SECURITY_HEADER_LIST,
  ['Access-Control-Allow-Origin', '*'],
  ['Access-Control-Expose-Headers', EXPOSED_HEADERS],
])
const ANY_ORIGIN: CorsDecision = Object.freeze({ headers: ANY_ORIGIN_HEADERS })

/**
 * The headers of an answer to any origin, security headers included: for a function that cannot
 * read its own origin list (its configuration is broken) and still has to say so to a browser.
 *
 * @returns the header list
 */
export function anyOriginHeaders(): HeaderList {
  return ANY_ORIGIN_HEADERS
}

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
