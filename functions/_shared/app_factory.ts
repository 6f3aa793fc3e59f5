/**
 * The Hono app every function starts from: routed under `/<name>`, CORS first, security
 * headers on every response, one `onError` rendering the contract's error shape, and JSON 404/405.
 *
 * @module
 */
import { type Env, type Handler, Hono } from 'hono'
import { ConfigError } from './config.ts'
import { cors } from './cors.ts'
import { ApiError } from './errors.ts'
import { errorResponse } from './responses.ts'

/** Options of {@linkcode createFunctionApp}. */
export interface FunctionAppOptions {
  /** `*` or the exact origins allowed to call from a browser. */
  corsOrigins: '*' | readonly string[]
  /** Methods the function serves, for CORS preflights. */
  methods: readonly string[]
}

/**
 * Creates the app of one function, with `basePath('/<name>')` as Supabase routes
 * `/functions/v1/<name>/*` to it.
 *
 * @param name the function's name (its folder under `functions/`)
 * @param options CORS origins and served methods
 * @returns the Hono app to add routes to
 *
 * @example
 * ```ts
 * const app = createFunctionApp('hello', { corsOrigins: '*', methods: ['GET'] })
 * app.get('/', (c) => c.json({ hello: 'world' }))
 * export default { fetch: app.fetch }
 * ```
 */
export function createFunctionApp<E extends Env = Env>(
  name: string,
  options: FunctionAppOptions,
): Hono<E> {
  const app = new Hono<E>().basePath(`/${name}`) as unknown as Hono<E>
  // CORS and the security headers, on every response, errors included.
  app.use('*', cors({ origins: options.corsOrigins, methods: options.methods }))
  app.onError((error) => renderError(name, error))
  app.notFound(() => errorResponse(new ApiError(404, 'not_found', 'notFound')))
  return app
}

/**
 * A handler answering 405 with `Allow`, for the methods a route does not serve.
 *
 * @param allow the methods the route serves
 * @returns the handler
 */
export function methodNotAllowed(allow: readonly string[]): Handler {
  return () => {
    throw new ApiError(405, 'method_not_allowed', 'methodNotAllowed', { allow })
  }
}

/**
 * Renders any thrown value: an {@linkcode ApiError} as itself, a {@linkcode ConfigError} as 500
 * `server_misconfigured`, anything else as 500 `server_error`. Only error names and the variable
 * of a configuration error are logged: messages of foreign errors can quote request data.
 *
 * @param name the function, for the log line
 * @param error what was thrown
 * @returns the response
 */
export function renderError(name: string, error: unknown): Response {
  if (error instanceof ApiError) {
    if (error.status >= 500) logFailure(name, error.code, error.cause, true)
    return errorResponse(error)
  }
  if (error instanceof ConfigError) {
    console.error(`[${name}] ${error.message}`)
    return errorResponse(new ApiError(500, 'server_misconfigured', 'misconfigured'))
  }
  logFailure(name, 'server_error', error)
  return errorResponse(new ApiError(500, 'server_error', 'internal'))
}

// During an outage every request fails the same way: one line per function, code and half minute
// says as much as thousands would, and a flood of failures cannot flood the log.
const LOG_INTERVAL_MS = 30_000
const lastLogged = new Map<string, number>()

function logFailure(name: string, code: string, cause: unknown, throttle = false): void {
  const key = `${name} ${code}`
  const now = Date.now()
  if (throttle && now - (lastLogged.get(key) ?? -Infinity) < LOG_INTERVAL_MS) return
  lastLogged.set(key, now)
  const kind = cause instanceof Error ? cause.name : typeof cause
  const pgCode = (cause as { code?: unknown } | null)?.code
  console.error(`[${name}] ${code} (${kind}${typeof pgCode === 'string' ? ` ${pgCode}` : ''})`)
}
