/**
 * The checks every fuzz target applies to an answer (`fuzz_cases.ts` in process, `fuzz_routes.ts`
 * on the real stack): the contract's error shape with a fixed description, and the texts any
 * response may contain whatever the request was, so that a fuzzed input equal to one of them by
 * chance is not taken for an echo.
 *
 * @module
 */
import { assert, assertEquals } from '@std/assert'
import { DESCRIPTIONS, REALM } from '../../functions/_shared/core/errors.ts'

/** Whether `Headers` accepts the value: Latin-1 without NUL, CR, LF. */
export function isHeaderValue(value: string): boolean {
  return /^[^\0\r\n]*$/.test(value) && [...value].every((c) => c.charCodeAt(0) <= 0xff)
}

/** Every `error_description` a response may carry. */
export const ERROR_DESCRIPTIONS: ReadonlySet<string> = new Set<string>(Object.values(DESCRIPTIONS))

/**
 * Asserts the contract's error shape: JSON `{error, error_description}` from the fixed list,
 * optionally prefixed by one of `fields` (the schema's own names), with the contract's headers.
 *
 * @returns the `error` code
 */
export async function assertErrorShape(
  response: Response,
  fields: readonly string[],
): Promise<string> {
  const text = await response.clone().text()
  assertEquals(response.headers.get('Content-Type'), 'application/json', text)
  assertEquals(response.headers.get('Cache-Control'), 'no-store')
  assertEquals(response.headers.get('X-Content-Type-Options'), 'nosniff')
  const body = JSON.parse(text) as Record<string, unknown>
  assertEquals(Object.keys(body).sort(), ['error', 'error_description'], text)
  const description = String(body.error_description)
  const bare = fields.reduce((d, field) => d.replace(`${field}: `, ''), description)
  assert(ERROR_DESCRIPTIONS.has(bare), `description from the fixed list: ${description}`)
  return String(body.error)
}

/** Text a response may contain whatever the request was: not an echo when an input matches. */
export const VOCABULARY: string = [
  ...ERROR_DESCRIPTIONS,
  REALM,
  'application/json',
  'no-store',
  'nosniff',
  'Access-Control-Allow-Origin',
  'Access-Control-Expose-Headers',
  'WWW-Authenticate',
  'Content-Type',
  'Cache-Control',
  'X-Content-Type-Options',
  'Retry-After',
  'Allow: POST',
  'GET, POST',
  ...['content-type', 'cache-control', 'x-content-type-options', 'www-authenticate'],
  ...['access-control-allow-origin', 'access-control-expose-headers', 'retry-after', 'allow'],
  'unsupported_media_type',
  'payload_too_large',
  'method_not_allowed',
  'auth_upstream_unavailable',
  'invalid_request',
  'invalid_token',
  'invalid_grant',
  'unauthorized',
  'temporarily_unavailable',
  'rate_limited',
  'not_found',
  'Bad Request',
  'Unauthorized',
  'Method Not Allowed',
  'Payload Too Large',
  'Unsupported Media Type',
  'Too Many Requests',
  'Not Found',
  'Bad Gateway',
].join('\n')
