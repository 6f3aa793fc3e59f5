/**
 * The one error type of edge-auth and the fixed list of texts it may carry.
 *
 * Every failure a function reports is an {@linkcode ApiError}, a Hono `HTTPException` whose
 * `getResponse()` is the contract's single JSON shape with its `WWW-Authenticate`, `Retry-After`
 * and `Allow` headers: any Hono app renders it correctly with its default error handler, no
 * `onError` of ours needed. (Hono's exception is a plain `Error` subclass; nothing else of Hono
 * comes with it.) Descriptions come from {@linkcode DESCRIPTIONS} only, so no
 * token, claim, password or upstream message can ever be interpolated into a response; the one
 * name a caller chooses that a description shows, a query parameter's, is shown percent-encoded
 * and cut short ({@linkcode safeName}), and never its value.
 *
 * @module
 */
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { errorResponse } from './responses.ts'

/** The realm of every `WWW-Authenticate` challenge: a constant, never derived from the request. */
export const REALM = 'edge-auth'

/** Every `error_description` a response may carry, keyed by a stable name. */
export const DESCRIPTIONS = {
  missingCredentials: 'Authentication required',
  malformedHeader: 'Malformed Authorization header',
  headerTooLarge: 'Authorization header too large',
  tokenInQuery: 'Access tokens are not accepted in the query string or body',
  multipleMethods: 'More than one authentication method used',
  malformedToken: 'token malformed',
  badSignature: 'token signature invalid',
  tokenExpired: 'token expired',
  tokenNotYetValid: 'token not yet valid',
  badClaims: 'token claims invalid',
  unknownKey: 'token signed by an unknown key',
  sessionRevoked: 'session revoked',
  apiKeyAsBearer:
    'an API key is not an access token: send the key in the apikey header, a user access token as Bearer',
  secretKeyRequired:
    'API key missing or not accepted: this route takes a secret key in the apikey header',
  publishableKeyRequired:
    'API key missing or not accepted: this route takes a publishable key in the apikey header',
  apiKeyRequired:
    'API key missing or not accepted: this route takes a publishable or secret key in the apikey header',
  roleNotAllowed: 'role not allowed',
  anonymousNotAllowed: 'anonymous users not allowed',
  mfaRequired: 'mfa required',
  oauthClientNotAllowed: 'this route does not accept tokens issued to OAuth clients',
  scopeMissing: 'the token lacks a scope this route requires',
  keysUnavailable: 'Signing keys unavailable, retry later',
  sessionStoreUnavailable: 'Session store unavailable, retry later',
  databaseUnavailable: 'Database unavailable, retry later',
  invalidGrant: 'Invalid login credentials',
  invalidRefreshToken: 'Invalid refresh token',
  invalidJson: 'Request body is not valid JSON',
  incompleteBody: 'Request body ended before its declared length or final chunk',
  bodyNotObject: 'Request body must be a JSON object',
  missingField: 'A required field is missing',
  fieldType: 'A field has the wrong type',
  fieldLength: 'A field is too long or empty',
  unstorableText: 'A field contains a NUL character or malformed Unicode',
  unstorableValue: 'A value in the request cannot be stored or compared',
  unknownField: 'The body contains an unsupported field',
  notUuid: 'A field is not a UUID in lower case',
  invalidScope: 'scope must be one of global, local, others',
  invalidParameter: 'A query parameter is invalid',
  unknownParameter: 'Unsupported query parameter',
  repeatedParameter: 'Query parameter given more than once',
  unsupportedMediaType: 'Content-Type must be application/json',
  unsupportedEncoding: 'Content-Encoding must be identity: send the body uncompressed',
  payloadTooLarge: 'Request body too large',
  methodNotAllowed: 'Method not allowed',
  notFound: 'Not found',
  originNotAllowed: 'Origin not allowed',
  upstreamUnavailable: 'Auth server unavailable',
  upstreamTimeout: 'Auth server timed out',
  upstreamRateLimited: 'Too many requests, retry later',
  upstreamConflict: 'Concurrent refresh in progress, retry shortly',
  misconfigured: 'Server misconfigured',
  internal: 'Internal server error',
} as const

/** A key of {@linkcode DESCRIPTIONS}. */
export type DescriptionKey = keyof typeof DESCRIPTIONS

/** The `error` codes responses use (RFC 6750 / RFC 6749 where one applies). */
export type ErrorCode =
  | 'unauthorized'
  | 'invalid_request'
  | 'invalid_token'
  | 'invalid_api_key'
  | 'insufficient_scope'
  | 'invalid_grant'
  | 'temporarily_unavailable'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'method_not_allowed'
  | 'not_found'
  | 'origin_not_allowed'
  | 'auth_upstream_unavailable'
  | 'auth_upstream_timeout'
  | 'rate_limited'
  | 'conflict'
  | 'server_misconfigured'
  | 'server_error'

/**
 * How the response challenges the client: no `WWW-Authenticate`, a bare bearer challenge (no
 * credentials, RFC 6750 §3), or a challenge naming the error (RFC 6750 §3.1).
 */
export type Challenge = 'none' | 'bearer' | 'bearer-error'

/** Options of {@linkcode ApiError}. */
export interface ApiErrorOptions {
  /** Which `WWW-Authenticate` header to send; `none` by default. */
  challenge?: Challenge
  /** Seconds for `Retry-After` (503, 429). */
  retryAfter?: number
  /** Methods for `Allow` (405). */
  allow?: readonly string[]
  /** The underlying failure, for logs only: never rendered. */
  cause?: unknown
  /** Space-separated scopes the route requires, for the challenge's `scope` (RFC 6750 §3). */
  scope?: string
  /**
   * The body field or query parameter at fault: a name of the route's own schema, or a query
   * parameter's name as sent, which the description shows only in a safe form
   * ({@linkcode safeName}).
   */
  field?: string
}

/**
 * A failure with its HTTP status, `error` code and fixed description.
 *
 * @example
 * ```ts
 * throw new ApiError(401, 'invalid_token', 'tokenExpired', { challenge: 'bearer-error' })
 * ```
 */
export class ApiError extends HTTPException {
  /** HTTP status. */
  override readonly status: ContentfulStatusCode
  /** The `error` member of the body. */
  readonly code: ErrorCode
  /** Key of the fixed `error_description`. */
  readonly descriptionKey: DescriptionKey
  /** `WWW-Authenticate` behaviour. */
  readonly challenge: Challenge
  /** `Retry-After` seconds, if any. */
  readonly retryAfter: number | undefined
  /** `Allow` methods, if any. */
  readonly allow: readonly string[] | undefined
  /** The schema field at fault, if any. */
  readonly field: string | undefined
  /** The scopes a 403 names in its challenge, if any. */
  readonly scope: string | undefined

  /**
   * @param status HTTP status
   * @param code the `error` member
   * @param descriptionKey which fixed text becomes `error_description`
   * @param options challenge, Retry-After, Allow and the logged cause
   */
  constructor(
    status: ContentfulStatusCode,
    code: ErrorCode,
    descriptionKey: DescriptionKey,
    options: ApiErrorOptions = {},
  ) {
    super(status, { message: `${code}: ${DESCRIPTIONS[descriptionKey]}`, cause: options.cause })
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.descriptionKey = descriptionKey
    this.challenge = options.challenge ?? 'none'
    this.retryAfter = options.retryAfter
    this.allow = options.allow
    this.field = options.field
    this.scope = options.scope
  }

  /** The `error_description`: the fixed text, prefixed by the field's name when one is set. */
  get description(): string {
    const text = DESCRIPTIONS[this.descriptionKey]
    return this.field === undefined ? text : `${safeName(this.field)}: ${text}`
  }

  /**
   * The response this failure is: `{"error","error_description"}` with the headers that go with
   * it. Hono's default error handler answers with it.
   */
  override getResponse(): Response {
    return errorResponse(this)
  }
}

/** The longest name a description shows; a longer one is cut and ends in `...`. */
export const MAX_SHOWN_NAME = 40

/**
 * A name as an error description may show it, whoever chose it: percent-encoded as in a URL
 * (`encodeURIComponent`, so nothing but ASCII letters, digits and `-_.!~*'()%` remains: no
 * quote, backslash, control or markup), at most {@linkcode MAX_SHOWN_NAME} characters (a longer
 * one is cut between two of its characters, never inside one's escapes, and ends in `...`), and
 * `(empty)` for the empty name. A name of our own schema shows unchanged.
 *
 * @param name the name
 * @returns its safe form
 */
export function safeName(name: string): string {
  if (name === '') return '(empty)'
  const whole = name.toWellFormed()
  const encoded = encodeURIComponent(whole)
  if (encoded.length <= MAX_SHOWN_NAME) return encoded
  let shown = ''
  for (const character of whole) {
    const escaped = encodeURIComponent(character)
    if (shown.length + escaped.length > MAX_SHOWN_NAME - 3) break
    shown += escaped
  }
  return `${shown}...`
}

/** 401 without an error code: the request carried no usable credentials (RFC 6750 §3). */
export function noCredentials(): ApiError {
  return new ApiError(401, 'unauthorized', 'missingCredentials', { challenge: 'bearer' })
}

/** 400 `invalid_request` about how credentials were sent (RFC 6750 §3.1). */
export function badCredentialRequest(key: DescriptionKey): ApiError {
  return new ApiError(400, 'invalid_request', key, { challenge: 'bearer-error' })
}

/** 401 `invalid_token` (RFC 6750 §3.1). */
export function invalidToken(key: DescriptionKey, cause?: unknown): ApiError {
  return new ApiError(401, 'invalid_token', key, { challenge: 'bearer-error', cause })
}

/**
 * 401 `invalid_api_key`: the `apikey` header is missing or holds no key the route accepts; the
 * description says which kind was expected, never what was sent. `bearer` when the route also
 * takes a user's access token (a bare challenge: the bearer was not at fault), else `none`: no
 * HTTP authentication scheme carries an `apikey` header, and a Bearer challenge would invite a
 * token the route refuses.
 */
export function invalidApiKey(
  key: 'secretKeyRequired' | 'publishableKeyRequired' | 'apiKeyRequired',
  challenge: 'bearer' | 'none',
): ApiError {
  return new ApiError(401, 'invalid_api_key', key, { challenge })
}

/** 403 `insufficient_scope` (RFC 6750 §3.1). */
export function insufficientScope(key: DescriptionKey, scope?: string): ApiError {
  return new ApiError(403, 'insufficient_scope', key, { challenge: 'bearer-error', scope })
}

/** 503 with `Retry-After`: a dependency is down; never an authentication failure. */
export function unavailable(key: DescriptionKey, retryAfter = 5, cause?: unknown): ApiError {
  return new ApiError(503, 'temporarily_unavailable', key, { retryAfter, cause })
}

/** 400 `invalid_request` about the request body or parameters (no challenge). */
export function invalidRequest(key: DescriptionKey, field?: string): ApiError {
  return new ApiError(400, 'invalid_request', key, { field })
}
