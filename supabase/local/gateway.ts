/**
 * The local API gateway, shaped like Supabase's: one origin on 127.0.0.1 with `/auth/v1/*` to the
 * auth server (API key required, except the public JWKS), `/functions/v1/<name>/*` to the
 * functions host, and a token-guarded test-control API under `/_stack/`.
 *
 * API keys are handled as the gateway of Supabase CLI 3 handles them. The auth server
 * understands only JWTs, so on `/auth/v1` an `apikey` that is the opaque secret or publishable key
 * reaches it as `Authorization: Bearer <service_role JWT>` / `Bearer <anon JWT>`, unless the
 * request carries an Authorization of its own that is not an `sb_` key. On `/functions/v1`
 * `Authorization` and `apikey` pass exactly as sent; the role JWT of a known `apikey` travels in
 * `sb-api-key` (the functions host removes it before a function runs) and a client's own
 * `sb-api-key` never passes. With the legacy keys off, the anon and service_role JWTs are refused
 * as `apikey`.
 *
 * @module
 */
import type { ProjectKeys } from './keys.ts'
import { errorResponse, jsonResponse, timingSafeEqual } from './responses.ts'
import { withoutHopByHop } from './hop_by_hop.ts'
import { isOAuthClientRoute, rootMetadataTarget } from './oauth_server.ts'

/** The test-control hook of the gateway. */
export interface GatewayControl {
  /** Random per start; expected in the `x-stack-control` header. */
  token: string
  /**
   * Runs an action. Returns the JSON body of the answer, or `undefined` for an unknown action.
   * Throws {@linkcode ControlInputError} for a bad request body.
   */
  run(action: string, body: unknown): Promise<unknown>
}

/** A test-control request the gateway answers with 400. */
export class ControlInputError extends Error {
  /**
   * @param message what is wrong with the request
   */
  constructor(message: string) {
    super(message)
    this.name = 'ControlInputError'
  }
}

/** Options for {@linkcode startGateway}. */
export interface GatewayOptions {
  /** 0 picks a free port. */
  port: number
  /** Base URL of the auth server, or null while it does not run. */
  authUpstream: () => string | null
  /** Base URL of the functions host, or null while it does not run. */
  functionsUpstream: () => string | null
  /**
   * The project's API keys, read per request (a key revocation re-signs the JWTs). Only a request
   * made with a secret one (`sb_secret_…` or service_role) may carry `Sb-Forwarded-For`, as on
   * hosted Supabase, so server-side code (the login function) can tell the auth server's rate
   * limiter who the real caller is, while a client can never choose its own address.
   */
  keys: () => ProjectKeys
  control?: GatewayControl
  log: (message: string) => void
}

/** The API keys the gateway knows. */
/** Which of the project's keys an `apikey` is, or null for none of them. */
export type ApiKeyKind = 'publishable' | 'secret' | 'anon' | 'service_role' | null

/**
 * Tells which of the project's keys `apiKey` is (compared in constant time).
 *
 * @param keys the project's keys
 * @param apiKey the request's `apikey`
 * @returns its kind, or null
 */
function apiKeyKind(keys: ProjectKeys, apiKey: string | null): ApiKeyKind {
  if (apiKey === null) return null
  const candidates: [Exclude<ApiKeyKind, null>, string][] = [
    ['publishable', keys.publishableKey],
    ['secret', keys.secretKey],
    ['anon', keys.anonKey],
    ['service_role', keys.serviceRoleKey],
  ]
  let kind: ApiKeyKind = null
  // Every comparison runs, so the time taken does not tell which key came close.
  for (const [name, key] of candidates) if (timingSafeEqual(key, apiKey)) kind = name
  return kind
}

/** `Bearer sb_…`: an opaque key, which no upstream can verify, sent as a bearer token. */
const bearerOpaqueKey = /^bearer +sb_/i

/**
 * The Authorization to send upstream: the request's own unless it is `Bearer sb_…`; else, for
 * the secret or publishable key in `apikey`, the JWT of its role; else none.
 *
 * @param authorization the request's Authorization header
 * @param kind what the request's `apikey` is
 * @param keys the project's keys
 * @returns the header's value, or null to send none
 */
function upstreamAuthorization(
  authorization: string | null,
  kind: ApiKeyKind,
  keys: ProjectKeys,
): string | null {
  if (authorization !== null && !bearerOpaqueKey.test(authorization)) return authorization
  // Only the opaque keys are translated; a legacy JWT key is no bearer of its own.
  if (kind !== 'secret' && kind !== 'publishable') return null
  return `Bearer ${apiKeyRoleJwt(kind, keys)}`
}

/**
 * The JWT of the role an `apikey` stands for: service_role for a secret key, anon for a
 * publishable one, the key itself for a legacy JWT key; null for no known key.
 */
function apiKeyRoleJwt(kind: ApiKeyKind, keys: ProjectKeys): string | null {
  if (kind === 'secret' || kind === 'service_role') return keys.serviceRoleKey
  if (kind === 'publishable' || kind === 'anon') return keys.anonKey
  return null
}

/** The header that carries the role JWT of a request's `apikey` to the functions host. */
export const SB_API_KEY_HEADER = 'sb-api-key'

/** A running gateway. */
export interface Gateway {
  readonly port: number
  shutdown(): Promise<void>
}

/**
 * Client-supplied claims about the client's address or the original request. Upstreams use them
 * for rate limits, audit logs and session IPs, so the gateway replaces them with what it saw.
 */
const forwardingHeaders = new Set([
  'forwarded',
  'x-forwarded-for',
  'x-real-ip',
  'sb-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-client-ip',
  'true-client-ip',
  'cf-connecting-ip',
])

const jwksPath = '/.well-known/jwks.json'

/**
 * Starts the gateway on 127.0.0.1.
 *
 * @param options port, upstreams, API keys and the control hook
 * @returns the running gateway
 */
export function startGateway(options: GatewayOptions): Gateway {
  let gatewayHost = ''
  const server: Deno.HttpServer<Deno.NetAddr> = Deno.serve(
    { hostname: '127.0.0.1', port: options.port, onListen: () => {} },
    (request, info) => route(request, info.remoteAddr.hostname, options, gatewayHost),
  )
  const port = server.addr.port
  gatewayHost = `127.0.0.1:${port}`
  return {
    port,
    async shutdown() {
      await server.shutdown()
    },
  }
}

/**
 * The headers to send upstream: hop-by-hop headers, `Host` and every client-supplied forwarding
 * header dropped; `X-Forwarded-For` and `X-Real-IP` set to the socket peer; an uncompressed
 * answer asked for.
 *
 * @param incoming the client's headers
 * @param peer the socket peer address
 * @param gatewayHost the gateway's own `host:port`
 * @param keepSbForwardedFor keep `Sb-Forwarded-For` (the request was made with a secret key)
 * @returns new headers
 */
export function upstreamRequestHeaders(
  incoming: Headers,
  peer: string,
  gatewayHost: string,
  keepSbForwardedFor = false,
): Headers {
  const headers = withoutHopByHop(incoming)
  headers.delete('host')
  for (const name of forwardingHeaders) headers.delete(name)
  const sbForwardedFor = incoming.get('sb-forwarded-for')
  if (keepSbForwardedFor && sbForwardedFor) headers.set('Sb-Forwarded-For', sbForwardedFor)
  headers.set('X-Forwarded-For', peer)
  headers.set('X-Real-IP', peer)
  headers.set('X-Forwarded-Host', gatewayHost)
  headers.set('X-Forwarded-Proto', 'http')
  // Deno's fetch decodes a compressed answer but keeps its Content-Encoding, so a compressed
  // answer passed on would reach the client as a plain body labelled gzip. Deno 2.1's server
  // compresses JSON for clients that accept it; ask every upstream for an uncompressed body.
  headers.set('Accept-Encoding', 'identity')
  return headers
}

/** Methods fetch() will not send (the Fetch standard's forbidden methods). */
const UNFORWARDABLE_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK'])
const FORWARDED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS'

async function route(
  request: Request,
  peer: string,
  options: GatewayOptions,
  gatewayHost: string,
): Promise<Response> {
  const url = new URL(request.url)
  const path = url.pathname
  // fetch() refuses to send these methods, so they cannot be forwarded: answer like a function
  // answers a method it does not serve (405, Allow and CORS), never 502.
  if (UNFORWARDABLE_METHODS.has(request.method.toUpperCase())) {
    return errorResponse(405, 'method_not_allowed', 'Method not allowed', {
      Allow: FORWARDED_METHODS,
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Expose-Headers': 'WWW-Authenticate, Retry-After',
    })
  }
  if (path.startsWith('/_stack/') && options.control) {
    return await control(request, path.slice('/_stack/'.length), options.control, options.log)
  }
  const keys = options.keys()
  const apiKey = request.headers.get('apikey') ?? url.searchParams.get('apikey')
  const kind = apiKeyKind(keys, apiKey)
  const isPreflight = request.method === 'OPTIONS'
  // A project without the legacy keys refuses them wherever they come as `apikey`.
  const legacyRefused = !keys.legacyKeys && (kind === 'anon' || kind === 'service_role')
  // What every upstream gets; a client's own sb-api-key never passes.
  const baseHeaders = () => {
    const headers = upstreamRequestHeaders(
      request.headers,
      peer,
      gatewayHost,
      kind === 'secret' || kind === 'service_role',
    )
    headers.delete(SB_API_KEY_HEADER)
    return headers
  }
  const headersFor = () => {
    const headers = baseHeaders()
    const authorization = upstreamAuthorization(request.headers.get('authorization'), kind, keys)
    if (authorization === null) headers.delete('authorization')
    else headers.set('Authorization', authorization)
    return headers
  }
  // Functions get the caller's credentials untouched, and the role JWT of a known key beside them.
  const functionHeaders = () => {
    const headers = baseHeaders()
    const roleJwt = legacyRefused ? null : apiKeyRoleJwt(kind, keys)
    if (roleJwt !== null) headers.set(SB_API_KEY_HEADER, roleJwt)
    return headers
  }
  if (path === '/auth/v1' || path.startsWith('/auth/v1/')) {
    const rest = path.slice('/auth/v1'.length) || '/'
    const isPublic =
      ((request.method === 'GET' || request.method === 'HEAD') && rest === jwksPath) ||
      isOAuthClientRoute(request.method, rest)
    // CORS preflights never carry credentials; the auth server answers them itself.
    if (!isPublic && !isPreflight) {
      if (!apiKey) return errorResponse(401, 'invalid_api_key', 'No API key found in request')
      if (kind === null) return errorResponse(401, 'invalid_api_key', 'Invalid API key')
      if (legacyRefused) return legacyKeyRefused()
    }
    const upstream = options.authUpstream()
    if (!upstream) return authUnavailable()
    return await proxy(request, `${upstream}${rest}${url.search}`, headersFor())
  }
  // RFC 8414 discovery of the issuer `/auth/v1`: public, like the auth server's own copy.
  const metadataTarget = rootMetadataTarget(path)
  if (metadataTarget !== null && (request.method === 'GET' || request.method === 'HEAD')) {
    const upstream = options.authUpstream()
    if (!upstream) return authUnavailable()
    return await proxy(request, `${upstream}${metadataTarget}`, headersFor())
  }
  if (path.startsWith('/functions/v1/') && path.length > '/functions/v1/'.length) {
    // Functions need no API key (each checks its own credentials), but a disabled one is refused.
    if (!isPreflight && legacyRefused) return legacyKeyRefused()
    const upstream = options.functionsUpstream()
    if (!upstream) return functionsUnavailable()
    // A host that stops while the request is on its way (a restart) is unavailable, like one that
    // is not running: 503 + Retry-After, not a bad gateway.
    const gone = () => (options.functionsUpstream() === upstream ? null : functionsUnavailable())
    return await proxy(request, `${upstream}${path}${url.search}`, functionHeaders(), gone)
  }
  if (path === '/rest/v1' || path.startsWith('/rest/v1/')) {
    return errorResponse(501, 'not_implemented', 'PostgREST is not part of the local stack')
  }
  return errorResponse(404, 'not_found', 'No route matches this path')
}

/** What a project without legacy keys answers for a legacy JWT in `apikey`. */
function legacyKeyRefused(): Response {
  return errorResponse(401, 'invalid_api_key', 'Legacy API keys are disabled')
}

function authUnavailable(): Response {
  return errorResponse(
    503,
    'auth_server_unavailable',
    'The auth server is not running on this local stack',
    { 'Retry-After': '1' },
  )
}

function functionsUnavailable(): Response {
  return errorResponse(503, 'functions_unavailable', 'The functions host is not running', {
    'Retry-After': '1',
  })
}

/**
 * Streams the request with `headers` to `target` and the answer back, without following
 * redirects. When the upstream cannot be reached, `unreachable` may give the answer (default 502
 * bad_gateway).
 */
async function proxy(
  request: Request,
  target: string,
  headers: Headers,
  unreachable: () => Response | null = () => null,
): Promise<Response> {
  let upstream: Response
  const sent = request.method === 'GET' || request.method === 'HEAD'
    ? { body: null, failed: () => false }
    : trackedBody(request.body)
  try {
    upstream = await fetch(target, {
      method: request.method,
      headers,
      body: sent.body,
      redirect: 'manual',
      // No request.signal: a client that goes away cancels the streamed bodies, which closes
      // the upstream request as well.
    })
  } catch {
    // A client body cut short (the client half-closed, a chunked body ended early): the caller's
    // fault, as a buffering proxy such as Kong's nginx reports it, never the upstream's.
    if (sent.failed()) {
      return errorResponse(400, 'invalid_request', 'The request body ended before it was complete')
    }
    return unreachable() ?? errorResponse(502, 'bad_gateway', 'The upstream service did not answer')
  }
  const nullBody = [101, 204, 205, 304].includes(upstream.status) || request.method === 'HEAD'
  return new Response(nullBody ? null : upstream.body, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: withoutHopByHop(upstream.headers),
  })
}

/**
 * The client's body as a stream to send upstream, and whether reading the client's body failed
 * (so that a failed upstream request can be told apart from a broken client body).
 */
function trackedBody(
  body: ReadableStream<Uint8Array> | null,
): { body: ReadableStream<Uint8Array> | null; failed: () => boolean } {
  let failed = false
  if (body === null) return { body, failed: () => failed }
  const reader = body.getReader()
  return {
    failed: () => failed,
    body: new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await reader.read()
          if (done) controller.close()
          else controller.enqueue(value)
        } catch (error) {
          failed = true
          controller.error(error)
        }
      },
      cancel: (reason) => reader.cancel(reason),
    }),
  }
}

async function control(
  request: Request,
  action: string,
  hook: GatewayControl,
  log: (message: string) => void,
): Promise<Response> {
  const token = request.headers.get('x-stack-control')
  // Without the token the control API does not exist: same answer as any unknown path.
  if (request.method !== 'POST' || !token || !timingSafeEqual(token, hook.token)) {
    return errorResponse(404, 'not_found', 'No route matches this path')
  }
  let body: unknown = null
  const text = await request.text()
  if (text.trim()) {
    try {
      body = JSON.parse(text)
    } catch {
      return errorResponse(400, 'invalid_request', 'The body must be JSON')
    }
  }
  try {
    const result = await hook.run(action, body)
    if (result === undefined) return errorResponse(404, 'not_found', 'No route matches this path')
    return jsonResponse(200, result)
  } catch (err) {
    if (err instanceof ControlInputError) {
      return errorResponse(400, 'invalid_request', err.message)
    }
    log(`control action ${action} failed: ${(err as Error).message}`)
    return errorResponse(500, 'control_failed', (err as Error).message)
  }
}
