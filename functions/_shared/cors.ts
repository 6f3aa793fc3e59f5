/**
 * CORS for browser callers: preflights answered before any authentication, the allow headers
 * supabase-js sends, and CORS headers on every response, errors included, so a browser can read
 * why a request failed instead of reporting a CORS error.
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
 * A Hono middleware implementing CORS for one function.
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
    const allowed = options.origins === '*' ||
      (origin !== undefined && options.origins.includes(origin))
    if (origin !== undefined && !allowed) {
      return errorResponse(new ApiError(403, 'origin_not_allowed', 'originNotAllowed'))
    }
    const corsHeaders: Record<string, string> = {
      'Access-Control-Allow-Origin': options.origins === '*' ? '*' : origin ?? '',
      'Access-Control-Expose-Headers': 'WWW-Authenticate, Retry-After',
    }
    if (options.origins !== '*') corsHeaders['Vary'] = 'Origin'
    if (options.origins !== '*' && origin === undefined) {
      delete corsHeaders['Access-Control-Allow-Origin']
    }
    if (c.req.method === 'OPTIONS') {
      return new Response(null, {
        status: 204,
        headers: {
          ...SECURITY_HEADERS,
          ...corsHeaders,
          'Access-Control-Allow-Methods': allowMethods,
          'Access-Control-Allow-Headers': ALLOWED_HEADERS,
          'Access-Control-Max-Age': '86400',
        },
      })
    }
    await next()
    for (const [name, value] of Object.entries(corsHeaders)) c.res.headers.set(name, value)
  }
}
