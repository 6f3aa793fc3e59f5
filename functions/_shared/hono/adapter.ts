/**
 * The Hono adapter, the only module that knows Hono: the app every function starts from (routed
 * under `/<name>`, CORS first, then the query rule of the route, security headers on every
 * response, one `onError` rendering the error shape, JSON 404 and 405) and the middleware that
 * hands a request to the framework-free core (`auth/authenticate.ts`, `http/query_guard.ts`) and
 * puts the verified identity on `c.var.auth` (or, for routes that also take API keys, the caller
 * on `c.var.credential`).
 *
 * @module
 */
import { type Context, type Env, type Handler, Hono, type MiddlewareHandler } from 'hono'
import { createMiddleware } from 'hono/factory'
import { matchedRoutes } from 'hono/route'
import {
  type AcceptedCredential,
  type Auth,
  type AuthPolicy,
  type Credential,
} from '../auth/authenticate.ts'
import { ConfigError } from '../core/config.ts'
import { ApiError, badCredentialRequest } from '../core/errors.ts'
import { anyOriginHeaders, createCors } from '../http/cors.ts'
import { assertQueryParameters, queryParameters } from '../http/query_guard.ts'
import { type ChallengeOptions, errorResponse } from '../core/responses.ts'
import { extractBearer } from '../tokens/bearer.ts'
import type { AuthContext } from '../tokens/identity.ts'

/** The Hono environment of routes behind {@linkcode requireUser}. */
export type AuthEnv = { Variables: { auth: AuthContext } }

/** The Hono environment of routes behind {@linkcode requireCredentials}. */
export type CredentialEnv = { Variables: { credential: Credential } }

/** Options of {@linkcode createFunctionApp}. */
export interface FunctionAppOptions {
  /** `*` or the exact origins allowed to call from a browser. */
  corsOrigins: '*' | readonly string[]
  /** Methods the function serves, for CORS preflights. */
  methods: readonly string[]
  /**
   * The query parameters each route takes, by the route's method and path as it is added
   * (`'GET /'`, `'DELETE /:id'`, `'ALL /'` for `app.all`); a route not listed takes none. Any other parameter, or one
   * given twice, is a 400 `invalid_request` naming it (`http/query_guard.ts`), before
   * authentication and the body. An unknown path (404) or method (405) is answered first, and a
   * CORS preflight before everything.
   */
  query?: Readonly<Record<string, readonly string[]>>
  /**
   * The URL of the function's RFC 9728 protected-resource metadata, for a function that OAuth
   * clients call (an MCP server): every 401 `Bearer` challenge names it in `resource_metadata`.
   */
  resourceMetadata?: string
}

/**
 * Creates the app of one function, with `basePath('/<name>')` as Supabase routes
 * `/functions/v1/<name>/*` to it.
 *
 * @param name the function's name (its folder under `functions/`)
 * @param options CORS origins, served methods and the query parameters of each route
 * @returns the Hono app to add routes to
 * @throws {TypeError} for a key of `options.query` that is not `'<METHOD> /<path>'`
 *
 * @example
 * ```ts
 * const app = createFunctionApp('hello', {
 *   corsOrigins: '*',
 *   methods: ['GET'],
 *   query: { 'GET /': ['name'] },
 * })
 * app.get('/', (c) => c.json({ hello: new URL(c.req.url).searchParams.get('name') ?? 'world' }))
 * // Without it another method on the route would be a 404.
 * app.all('/', methodNotAllowed(['GET']))
 * export default { fetch: app.fetch }
 * ```
 */
export function createFunctionApp<E extends Env = Env>(
  name: string,
  options: FunctionAppOptions,
): Hono<E> {
  // The default router, not the linear one that would spare a cold start its route compilation
  // (about 1 ms): that one also matches `/<name>/` for `/<name>`, and paths are exact here.
  const app = new Hono<E>().basePath(`/${name}`) as unknown as Hono<E>
  const cors = createCors({ origins: options.corsOrigins, methods: options.methods })
  const render = createErrorRenderer(name, { resourceMetadata: options.resourceMetadata })
  const queryRefusal = queryRule(name, options.query ?? {}, render)
  // CORS and the security headers, on every response, errors included; then the query rule, in
  // the same layer (each layer costs every request a promise), its refusal rendered here so that
  // it gets the headers too.
  app.use('*', async (c, next) => {
    const decision = cors(c.req.raw)
    if (decision.answer) return decision.answer
    // Nearly every request has no query: nothing to parse or look up.
    const refusal = c.req.url.includes('?') ? await queryRefusal(c) : undefined
    if (refusal === undefined) await next()
    else c.res = refusal
    for (const [header, value] of decision.headers) c.res.headers.set(header, value)
  })
  app.onError(render)
  app.notFound(() => errorResponse(new ApiError(404, 'not_found', 'notFound')))
  return app
}

/**
 * The default export of a function's `index.ts`: the app `build` makes from the configuration,
 * or, when the configuration is invalid, a function that still boots, says which variable is at
 * fault once in its log, and answers every request with 500 `server_misconfigured` (with CORS
 * headers, so a browser shows it). A throw at boot would instead be the platform's opaque
 * `BOOT_ERROR`, without the variable's name anywhere a developer looks. `build` is where the
 * served entry warms up what its routes need (`auth.warmUp()`).
 *
 * @param name the function's name, for the log line
 * @param build reads the configuration and builds the app (throws {@linkcode ConfigError})
 * @returns what `Deno.serve` and the edge runtime take as a default export
 *
 * @example
 * ```ts
 * export default serveFunction('me', () => {
 *   const config = loadConfig(Deno.env, { require: ['dbUrl'] })
 *   const auth = authFromConfig(config)
 *   auth.warmUp()
 *   return createMeApp(config, { auth })
 * })
 * ```
 */
export function serveFunction(
  name: string,
  build: () => { fetch: (request: Request) => Response | Promise<Response> },
): Deno.ServeDefaultExport {
  try {
    const app = build()
    return { fetch: (request) => app.fetch(request) }
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    console.error(`[${name}] ${error.message}`)
    return {
      fetch: () => {
        const response = errorResponse(new ApiError(500, 'server_misconfigured', 'misconfigured'))
        for (const [header, value] of anyOriginHeaders()) response.headers.set(header, value)
        return response
      },
    }
  }
}

/**
 * A handler answering 405 with `Allow`, for the methods a route does not serve.
 *
 * @param allow the methods the route serves
 * @returns the handler
 */
export function methodNotAllowed(allow: readonly string[]): Handler {
  const handler: Handler = () => {
    throw new ApiError(405, 'method_not_allowed', 'methodNotAllowed', { allow })
  }
  return Object.assign(handler, { [NOT_ALLOWED]: true })
}

type MatchedRoute = ReturnType<typeof matchedRoutes>[number]

// Marks the 405 answers, which the query rule leaves to answer first (they serve no route).
const NOT_ALLOWED = Symbol('methodNotAllowed')

/**
 * The middleware of a user route: the core authenticates the request under the route's policy,
 * and the verified identity lands on `c.var.auth`.
 *
 * @param auth the instance's services from `createAuth` or `authFromEnv`
 * @param policy what the route asks of its callers
 * @returns the middleware; what the core throws is rendered by the app's `onError`
 *
 * @example
 * ```ts
 * const auth = authFromConfig(config)
 * const app = createFunctionApp<AuthEnv>('hello', { corsOrigins: config.corsOrigins, methods: ['GET'] })
 * app.get('/', requireUser(auth, { session: 'check' }), (c) => c.json({ id: c.var.auth.user.id }))
 * app.all('/', methodNotAllowed(['GET']))
 * ```
 */
export function requireUser(auth: Auth, policy: AuthPolicy): MiddlewareHandler<AuthEnv> {
  // `await next()`, not `return next()`: that would hand Hono the context as a response when a
  // route forgets to return one, where Hono otherwise says so.
  return createMiddleware<AuthEnv>(async (c, next) => {
    const context = auth.authenticateNow(c.req.raw, policy)
    c.set('auth', context instanceof Promise ? await context : context)
    await next()
  })
}

/**
 * The middleware of a route that also takes server callers: the core tries the accepted kinds of
 * credential in order ({@linkcode Auth.authenticateAny}), and the caller lands on
 * `c.var.credential`: `{ kind: 'user', context }` or `{ kind: 'secret' | 'publishable', name }`.
 *
 * @param auth the instance's services from `createAuth`
 * @param accepted the credentials the route accepts, in order, e.g. `['user', 'secret']` or
 *   `[{ kind: 'secret', name: '*' }]`
 * @param policy what a user must satisfy (default `{ session: 'check' }`)
 * @returns the middleware; what the core throws is rendered by the app's `onError`
 *
 * @example
 * ```ts
 * const app = createFunctionApp<CredentialEnv>('jobs', { corsOrigins: '*', methods: ['POST'] })
 * app.post('/', requireCredentials(auth, ['user', 'secret']), (c) => {
 *   const caller = c.var.credential
 *   return c.json({ by: caller.kind === 'user' ? caller.context.user.id : caller.name })
 * })
 * ```
 */
export function requireCredentials(
  auth: Auth,
  accepted: readonly AcceptedCredential[],
  policy?: AuthPolicy,
): MiddlewareHandler<CredentialEnv> {
  if (accepted.length === 0) throw new TypeError('requireCredentials: accept at least one kind')
  return createMiddleware<CredentialEnv>(async (c, next) => {
    c.set('credential', await auth.authenticateAny(c.req.raw, accepted, policy))
    await next()
  })
}

const ROUTE_KEY = /^[A-Z]+ \/\S*$/

/**
 * The query rule of every route of an app: the parameters of the route the request matched, as
 * `query` lists them. A token in the query is the bearer rules' to answer, on every route (400
 * `tokenInQuery`, or `multipleMethods` beside a header, or what a faulty header deserves first),
 * so `access_token` gets that answer rather than a generic one. Requests that match no route
 * pass on to the 404 or 405.
 *
 * @returns for a request, the rendered refusal, or undefined when the rule lets it pass
 */
function queryRule(
  name: string,
  query: Readonly<Record<string, readonly string[]>>,
  render: (error: unknown) => Response,
): (c: Context) => Promise<Response | undefined> {
  for (const key of Object.keys(query)) {
    if (!ROUTE_KEY.test(key)) throw new TypeError(`createFunctionApp: bad query key ${key}`)
  }
  const base = `/${name}`
  return async (c) => {
    const parameters = queryParameters(c.req.url)
    const route = parameters.size ? answeringRoute(matchedRoutes(c)) : undefined
    if (route === undefined) return undefined
    try {
      if (parameters.has('access_token')) {
        await extractBearer(c.req.raw)
        throw badCredentialRequest('tokenInQuery')
      }
      const path = route.path.slice(base.length) || '/'
      assertQueryParameters(parameters, query[`${route.method} ${path}`])
    } catch (error) {
      return render(error)
    }
  }
}

/**
 * The route that answers a request: the first matched for its method (HEAD matches its GET
 * route), else one added for every method (`app.all`) that is neither middleware (`/*`) nor a
 * 405 answer; none for a path no route serves (404) or a method it does not (405).
 */
function answeringRoute(routes: readonly MatchedRoute[]): MatchedRoute | undefined {
  return routes.find((route) => route.method !== 'ALL') ??
    routes.find((route) => !route.path.endsWith('*') && !(NOT_ALLOWED in route.handler))
}

// During an outage every request fails the same way: one line per app, code and half minute says
// as much as thousands would, and a flood of failures cannot flood the log. The wall clock, not
// the injected one: this paces a log, it decides nothing about a request.
const LOG_INTERVAL_MS = 30_000

/**
 * The error rendering of one app, for its `onError`: an {@linkcode ApiError} as itself, a
 * {@linkcode ConfigError} as 500 `server_misconfigured`, anything else as 500 `server_error`. Only
 * error names and the variable of a configuration error are logged (messages of foreign errors
 * can quote request data), and a 5xx `ApiError`'s code at most once per half minute.
 * `createFunctionApp` installs one; make one per app, as the pacing belongs to it.
 *
 * @param name the function, for the log line
 * @param challenge what the app adds to a challenge (`resource_metadata`)
 * @returns the renderer of what was thrown
 *
 * @example
 * ```ts
 * const app = new Hono()
 * app.onError(createErrorRenderer('jobs'))
 * ```
 */
export function createErrorRenderer(
  name: string,
  challenge: ChallengeOptions = {},
): (error: unknown) => Response {
  const lastLogged = new Map<string, number>()
  function logFailure(code: string, cause: unknown, throttle = false): void {
    const now = Date.now()
    if (throttle && now - (lastLogged.get(code) ?? -Infinity) < LOG_INTERVAL_MS) return
    lastLogged.set(code, now)
    const kind = cause instanceof Error ? cause.name : typeof cause
    const pgCode = (cause as { code?: unknown } | null)?.code
    console.error(`[${name}] ${code} (${kind}${typeof pgCode === 'string' ? ` ${pgCode}` : ''})`)
  }
  return (error) => {
    if (error instanceof ApiError) {
      if (error.status >= 500) logFailure(error.code, error.cause, true)
      return errorResponse(error, challenge)
    }
    if (error instanceof ConfigError) {
      console.error(`[${name}] ${error.message}`)
      return errorResponse(new ApiError(500, 'server_misconfigured', 'misconfigured'))
    }
    logFailure('server_error', error)
    return errorResponse(new ApiError(500, 'server_error', 'internal'))
  }
}
