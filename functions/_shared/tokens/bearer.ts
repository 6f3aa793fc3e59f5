/**
 * Extraction of the bearer token from a request, in one fixed order, so every malformed request
 * gets the same answer whatever else is wrong with it. The first step that fails answers:
 *
 * 1. no `Authorization` header: 400 `invalid_request` when a token is in the query or the body,
 *    else 401 `unauthorized`;
 * 2. a header over {@linkcode MAX_AUTHORIZATION_LENGTH}: 400;
 * 3. not `<scheme> 1*SP <credentials>`: 400;
 * 4. a scheme other than `Bearer`: 401 `unauthorized` (no error code: not our kind of credential);
 * 5. a comma or whitespace in the credentials (two tokens, parameters): 400;
 * 6. not a compact JWS: 401 `invalid_token` (saying so when it is an `sb_…` API key);
 * 7. a token in the query or the body as well: 400.
 *
 * Only the `Authorization` header carries a token. A token in the query string or in a form or
 * JSON body is refused (RFC 6750 §2.2 is optional, §2.3 is discouraged and OAuth 2.1 drops it),
 * and the same goes for a header token accompanied by one of those.
 *
 * @module
 */
import { readCapped } from '../core/capped_read.ts'
import { badCredentialRequest, invalidToken, noCredentials } from '../core/errors.ts'

/** Longest `Authorization` value accepted; checked before any decoding. */
export const MAX_AUTHORIZATION_LENGTH = 8 * 1024

/** Largest body searched for an `access_token` field; larger ones are left to the handler's cap. */
export const MAX_INSPECTED_BODY = 64 * 1024

// RFC 9110 `token` scheme, then one or more SP (RFC 6750 §2.1 `"Bearer" 1*SP b64token`: `Bearer␠␠t`
// is accepted, H06). TAB, NBSP and other whitespace do not match and are a malformed header (H07).
const CREDENTIALS = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)(?: +(.*))?$/s
// Compact JWS only: no padding, no `+` or `/`, no JWE (5 segments), no JSON serialization (T08, T09, T10, T12).
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/
const WHITESPACE_OR_COMMA = /[\s,]/

/**
 * Returns the bearer token of a request, or throws the answer the request deserves.
 *
 * @param request the incoming request
 * @param known tells a token already verified and cached, whose syntax need not be checked again
 * @returns the token, a syntactically valid compact JWS (a promise only when a body is read)
 * @throws {ApiError} 401 `unauthorized` (no credentials or another scheme), 400 `invalid_request`
 * (malformed header, oversized header, token in the query or body, or in two places), or 401
 * `invalid_token` (not a compact JWS)
 */
export function extractBearer(
  request: Request,
  known: (token: string) => boolean = () => false,
): string | Promise<string> {
  // Lowercase: Deno looks `authorization` and `content-type` up without validating the name first.
  const header = request.headers.get('authorization')
  if (header === null) return refuseWithoutHeader(request)
  if (header.length > MAX_AUTHORIZATION_LENGTH) throw badCredentialRequest('headerTooLarge')
  const token = headerToken(header, known)
  // A promise only when a body must be read: nearly every authenticated request gets its token
  // without a turn of the microtask queue.
  const outside = tokenOutsideHeader(request)
  if (outside === true) throw badCredentialRequest('multipleMethods')
  if (outside === false) return token
  return outside.then((found) => {
    if (found) throw badCredentialRequest('multipleMethods')
    return token
  })
}

/** The answer to a request without `Authorization`: a token elsewhere is 400, else 401. */
async function refuseWithoutHeader(request: Request): Promise<never> {
  if (await tokenOutsideHeader(request)) throw badCredentialRequest('tokenInQuery')
  throw noCredentials()
}

/** The token of an `Authorization` value within the size cap, or the error it deserves. */
function headerToken(header: string, known: (token: string) => boolean): string {
  // Nearly every caller sends exactly `Bearer <compact JWS>`, most of them a token seen before:
  // a lookup, or one scan instead of three. A compact JWS has no space or comma, so this accepts
  // exactly what the general parse below accepts.
  if (header.startsWith('Bearer ')) {
    const token = header.slice(7)
    if (known(token) || COMPACT_JWS.test(token)) return token
  }
  const match = CREDENTIALS.exec(header)
  if (!match) throw badCredentialRequest('malformedHeader')
  if (match[1]!.toLowerCase() !== 'bearer') throw noCredentials()
  const token = match[2]
  // Deno merges repeated headers into `Bearer a, Bearer b`; a comma or space also means extra
  // parameters, which a bearer credential never has (H08).
  if (!token || WHITESPACE_OR_COMMA.test(token)) throw badCredentialRequest('malformedHeader')
  if (!isCompactJws(token)) {
    // The most common mistake in the field: a project key where a user token belongs.
    throw invalidToken(token.startsWith('sb_') ? 'apiKeyAsBearer' : 'malformedToken')
  }
  return token
}

/**
 * Tells whether a string has the shape of a compact JWS within the size cap; no decoding.
 *
 * @param token the candidate
 * @returns true for three non-empty base64url segments, at most 8 KiB in all
 */
export function isCompactJws(token: string): boolean {
  return token.length <= MAX_AUTHORIZATION_LENGTH && COMPACT_JWS.test(token)
}

/**
 * True when `access_token` appears in the query string, a form body or a JSON body; a promise
 * only when a body has to be read.
 */
function tokenOutsideHeader(request: Request): boolean | Promise<boolean> {
  const query = request.url.indexOf('?')
  if (query !== -1 && new URLSearchParams(request.url.slice(query + 1)).has('access_token')) {
    return true
  }
  // GET and HEAD carry no body (`Request` refuses one): no header to read for them.
  if (request.method === 'GET' || request.method === 'HEAD') return false
  const type = request.headers.get('content-type')?.split(';', 1)[0]?.trim().toLowerCase()
  const form = type === 'application/x-www-form-urlencoded'
  const json = type === 'application/json' || type?.endsWith('+json') === true
  if (!form && !json) return false
  return tokenInBody(request, form)
}

/** True when a form or JSON body has an `access_token` field. */
async function tokenInBody(request: Request, form: boolean): Promise<boolean> {
  const text = await readCopy(request)
  if (text === undefined) return false
  if (form) return new URLSearchParams(text).has('access_token')
  try {
    const body: unknown = JSON.parse(text)
    return typeof body === 'object' && body !== null && Object.hasOwn(body, 'access_token')
  } catch {
    // Not JSON: the handler answers that; it cannot carry a token field either way.
    return false
  }
}

/**
 * Reads a copy of the body, so the handler can still read the original, stopping at
 * {@linkcode MAX_INSPECTED_BODY}: undefined when there is no body or it is larger.
 */
async function readCopy(request: Request): Promise<string | undefined> {
  if (request.body === null || request.bodyUsed) return undefined
  try {
    const bytes = await readCapped(request.clone(), MAX_INSPECTED_BODY)
    return bytes === undefined ? undefined : new TextDecoder().decode(bytes)
  } catch {
    return undefined
  }
}
