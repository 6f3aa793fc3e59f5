/**
 * The checks every fuzz target applies to an answer (`fuzz_cases.ts` in process, `fuzz_routes.ts`
 * on the real stack): the contract's error shape with a fixed description, and the texts any
 * response may contain whatever the request was, so that a fuzzed input equal to one of them by
 * chance is not taken for an echo.
 *
 * @module
 */
import { assert, assertEquals, assertMatch } from '@std/assert'
import { DESCRIPTIONS, MAX_SHOWN_NAME, REALM } from '../../functions/_shared/core/errors.ts'

/** Whether `Headers` accepts the value: Latin-1 without NUL, CR, LF. */
export function isHeaderValue(value: string): boolean {
  return /^[^\0\r\n]*$/.test(value) && [...value].every((c) => c.charCodeAt(0) <= 0xff)
}

/** Every `error_description` a response may carry. */
export const ERROR_DESCRIPTIONS: ReadonlySet<string> = new Set<string>(Object.values(DESCRIPTIONS))

const PARAMETER_DESCRIPTIONS = [DESCRIPTIONS.unknownParameter, DESCRIPTIONS.repeatedParameter]

/**
 * The query parameter a description names (`<name>: Unsupported query parameter`), as shown:
 * names chosen by the caller are echoed by design, in a safe form.
 *
 * @param description an `error_description`
 * @returns the name as shown, or undefined when the description names no query parameter
 */
export function shownParameter(description: string): string | undefined {
  const text = PARAMETER_DESCRIPTIONS.find((d) => description.endsWith(`: ${d}`))
  return text === undefined ? undefined : description.slice(0, -`: ${text}`.length)
}

/**
 * The vocabulary of one response: `vocabulary` and the parameter name its description shows,
 * if any, so that a value equal to a shown name by chance is not taken for an echo.
 *
 * @param response the answer
 * @param vocabulary the texts any response may contain
 * @returns the vocabulary for this response
 */
export async function withShownName(response: Response, vocabulary: string): Promise<string> {
  if (response.headers.get('Content-Type') !== 'application/json') return vocabulary
  try {
    const body = await response.clone().json()
    const shown = shownParameter(String(body?.error_description))
    return shown === undefined ? vocabulary : `${vocabulary}\n${shown}`
  } catch {
    return vocabulary
  }
}

/**
 * Asserts the contract's error shape: JSON `{error, error_description}` from the fixed list,
 * optionally prefixed by one of `fields` (the schema's own names) or, for the query rule's
 * refusals, by a parameter's name in its safe form (URL-safe ASCII, at most the cap), with the
 * contract's headers.
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
  const parameter = shownParameter(description)
  if (parameter !== undefined) {
    assertEquals(body.error, 'invalid_request')
    assert(parameter.length <= MAX_SHOWN_NAME, `a parameter shown in full: ${parameter}`)
    assertMatch(parameter, /^(\(empty\)|[A-Za-z0-9\-_.!~*'()%]+)$/, 'a parameter shown unsafely')
    return 'invalid_request'
  }
  const bare = fields.reduce((d, field) => d.replace(`${field}: `, ''), description)
  assert(ERROR_DESCRIPTIONS.has(bare), `description from the fixed list: ${description}`)
  return String(body.error)
}

/**
 * What a response may contain of a request's query: the names it shows (the query rule names
 * a parameter it refuses), never a value. For the no-echo check: the values, as sent and as
 * decoded, are the secrets; the names shown are vocabulary.
 *
 * @param query the query string as sent, with its `?` (or empty)
 * @returns the values
 */
export function queryValues(query: string): string[] {
  const text = query.replace(/^\?/, '')
  const raw = text.split('&').flatMap((pair) => {
    const at = pair.indexOf('=')
    return at === -1 ? [] : [pair.slice(at + 1)]
  })
  return [...raw, ...new URLSearchParams(text).values()]
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
