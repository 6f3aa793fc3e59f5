/**
 * Response building: the JSON error body, the headers every response carries, and the
 * rendering of {@linkcode ApiError}.
 *
 * @module
 */
import { type ApiError, REALM } from './errors.ts'

/** Headers on every response, success or error (the README's error table lists them). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
})

/**
 * Builds a JSON response with the security headers.
 *
 * @param status HTTP status
 * @param body value serialised as the body
 * @param headers extra headers
 * @returns the response
 */
export function jsonResponse(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...SECURITY_HEADERS, 'Content-Type': 'application/json', ...headers },
  })
}

/** What an app adds to the challenges it renders. */
export interface ChallengeOptions {
  /**
   * The URL of the app's RFC 9728 protected-resource metadata, named as `resource_metadata` in
   * every 401's `Bearer` challenge: where an OAuth client (an MCP client) starts discovery. A URL
   * as `URL.href` writes it (no `"` or `\`), never from a request.
   */
  resourceMetadata?: string
}

/**
 * Renders an {@linkcode ApiError} in the contract's one shape:
 * `{"error":"<code>","error_description":"<fixed text>"}` plus `WWW-Authenticate`,
 * `Retry-After`, `Allow` and `Accept-Encoding` where they apply.
 *
 * @param error the failure to render
 * @param challenge what the app adds to a challenge (default nothing)
 * @returns the response
 */
export function errorResponse(error: ApiError, challenge: ChallengeOptions = {}): Response {
  const headers: Record<string, string> = {}
  let bearer: string | undefined
  if (error.challenge === 'bearer') bearer = `Bearer realm="${REALM}"`
  if (error.challenge === 'bearer-error') {
    const scope = error.scope === undefined ? '' : `, scope="${error.scope}"`
    bearer =
      `Bearer realm="${REALM}", error="${error.code}", error_description="${error.description}"${scope}`
  }
  if (bearer !== undefined) {
    const metadata = error.status === 401 ? challenge.resourceMetadata : undefined
    headers['WWW-Authenticate'] = metadata === undefined
      ? bearer
      : `${bearer}, resource_metadata="${metadata}"`
  }
  if (error.retryAfter !== undefined) headers['Retry-After'] = String(error.retryAfter)
  if (error.allow) headers['Allow'] = error.allow.join(', ')
  // What a 415 for a content coding says it takes (RFC 9110 §15.5.16).
  if (error.descriptionKey === 'unsupportedEncoding') headers['Accept-Encoding'] = 'identity'
  return jsonResponse(
    error.status,
    { error: error.code, error_description: error.description },
    headers,
  )
}
