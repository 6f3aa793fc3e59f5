/**
 * Strict JSON request bodies: UTF-8 `application/json` only and no content coding (415
 * otherwise), a size cap that follows from the fields' limits, enforced while streaming (413,
 * whatever `Content-Length` claims), a body cut short answered as the client's fault (400), and
 * field validation that names the field but never echoes its value (400 `invalid_request`).
 *
 * @module
 */
import { IncompleteBodyError, readCapped } from '../core/capped_read.ts'
import { ApiError, invalidRequest } from '../core/errors.ts'
import { parseMediaType } from './media_type.ts'

/** Rules for one string field of a body. */
export interface StringField {
  /** Whether the field must be present. */
  required: boolean
  /**
   * Longest accepted value, in characters (Unicode code points), as PostgreSQL's `char_length`
   * counts them: an emoji is one character, though JavaScript's `length` counts it as two.
   */
  maxLength: number
}

/** The allow-list of a body's fields; any other field is rejected. */
export type BodyFields<F extends string> = Readonly<Record<F, StringField>>

/** Options of {@linkcode readJsonBody}. */
export interface JsonBodyOptions<F extends string> {
  /** The fields; the size cap follows from them ({@linkcode maxJsonBodyBytes}). */
  fields: BodyFields<F>
}

// JSON may write any character as `\uXXXX` (6 bytes), and one outside the Basic Multilingual
// Plane as two of them, a surrogate pair (12 bytes): the most one character can take. Python's
// `json.dumps` does exactly that to everything outside ASCII by default.
const MAX_BYTES_PER_CHARACTER = 12
const MAX_BYTES_PER_NAME_CHARACTER = 6
// The quotes around name and value, the colon and the comma of a member.
const MEMBER_PUNCTUATION = 6
// The braces and a UTF-8 byte-order mark.
const OBJECT_PUNCTUATION = 5
// Whitespace an encoder writes around each member and around the object: Python's `", "` and
// `": "`, a pretty-printer's newline and indentation.
const WHITESPACE = 24

/**
 * The largest body a request with these fields can need: every field at its longest, every
 * character of it at its longest JSON escape, plus the object's punctuation and some whitespace.
 * Any valid body fits, however its encoder escapes it.
 *
 * @param fields the body's fields
 * @returns the cap in bytes
 */
export function maxJsonBodyBytes<F extends string>(fields: BodyFields<F>): number {
  let bytes = OBJECT_PUNCTUATION + WHITESPACE
  for (const [name, rule] of Object.entries<StringField>(fields)) {
    bytes += MEMBER_PUNCTUATION + WHITESPACE + name.length * MAX_BYTES_PER_NAME_CHARACTER +
      rule.maxLength * MAX_BYTES_PER_CHARACTER
  }
  return bytes
}

/**
 * Reads, size-caps, parses and validates a JSON object body of string fields.
 *
 * @param request the incoming request
 * @param options the field rules
 * @returns the allow-listed fields (a null-prototype object, so `__proto__` has no effect)
 * @throws {ApiError} 415 (media type or content coding), 413, or 400 `invalid_request`
 */
export async function readJsonBody<F extends string>(
  request: Request,
  options: JsonBodyOptions<F>,
): Promise<Partial<Record<F, string>>> {
  if (!isJsonContentType(request.headers.get('content-type'))) {
    throw new ApiError(415, 'unsupported_media_type', 'unsupportedMediaType')
  }
  if (!isIdentityEncoding(request.headers.get('content-encoding'))) {
    throw new ApiError(415, 'unsupported_media_type', 'unsupportedEncoding')
  }
  const text = await readText(request, maxJsonBodyBytes(options.fields))
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw invalidRequest('invalidJson')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalidRequest('bodyNotObject')
  }
  const known = Object.keys(options.fields) as F[]
  for (const key of Object.keys(parsed)) {
    if (!(known as string[]).includes(key)) throw invalidRequest('unknownField')
  }
  const result = Object.create(null) as Partial<Record<F, string>>
  for (const name of known) {
    const rule = options.fields[name]
    const value = (parsed as Record<string, unknown>)[name]
    if (value === undefined || value === null) {
      if (rule.required) throw invalidRequest('missingField', name)
      continue
    }
    if (typeof value !== 'string') throw invalidRequest('fieldType', name)
    if (value.length === 0 || !fitsLength(value, rule.maxLength)) {
      throw invalidRequest('fieldLength', name)
    }
    if (!isStorableText(value)) throw invalidRequest('unstorableText', name)
    result[name] = value
  }
  return result
}

/**
 * Whether `value` has at most `max` characters (code points; a lone surrogate counts as one).
 * Counts only as far as the answer needs.
 */
function fitsLength(value: string, max: number): boolean {
  // Each code point takes one or two UTF-16 units: the bounds decide most values at once.
  if (value.length <= max) return true
  if (value.length > 2 * max) return false
  let count = 0
  for (const _ of value) if (++count > max) return false
  return true
}

// A lone surrogate: a high one not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/**
 * Whether PostgreSQL and the auth server can hold `value` exactly as sent: `text` refuses U+0000,
 * and a lone surrogate (valid in JSON's `\uD800` escapes, invalid in UTF-8) would be stored as
 * U+FFFD, changing the caller's data without a word.
 *
 * @param value a string from a request
 * @returns true when it can be stored unchanged
 */
export function isStorableText(value: string): boolean {
  return !value.includes('\u0000') && !LONE_SURROGATE.test(value)
}

/**
 * `application/json`, with no parameter but `charset`, given at most once, whose value is
 * `utf-8` in any case, quoted or not (RFC 8259 JSON is UTF-8). Anything else is refused.
 */
function isJsonContentType(value: string | null): boolean {
  if (value === null) return false
  const type = parseMediaType(value)
  if (type?.essence !== 'application/json') return false
  const [charset, ...more] = type.parameters
  if (charset === undefined) return true
  return more.length === 0 && charset[0] === 'charset' && charset[1].toLowerCase() === 'utf-8'
}

/**
 * No `Content-Encoding`, or only `identity`: a compressed body would be read as the bytes of
 * its compression, and inflating one is a way to make a small request use a lot of memory.
 */
function isIdentityEncoding(value: string | null): boolean {
  if (value === null) return true
  return value.split(',').every((coding) => /^[\t ]*(identity)?[\t ]*$/i.test(coding))
}

/** Reads the body as UTF-8, aborting as soon as it passes `maxBytes`. */
async function readText(request: Request, maxBytes: number): Promise<string> {
  let bytes: Uint8Array | undefined
  try {
    bytes = await readCapped(request, maxBytes)
  } catch (error) {
    if (error instanceof IncompleteBodyError) throw invalidRequest('incompleteBody')
    throw error
  }
  if (bytes === undefined) throw new ApiError(413, 'payload_too_large', 'payloadTooLarge')
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw invalidRequest('invalidJson')
  }
}
