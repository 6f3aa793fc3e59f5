/**
 * Strict JSON request bodies: UTF-8 `application/json` only (415 otherwise), a size cap enforced
 * while streaming (413, whatever `Content-Length` claims), and field validation that names the
 * field but never echoes its value (400 `invalid_request`).
 *
 * @module
 */
import { readCapped } from '../core/capped_read.ts'
import { ApiError, invalidRequest } from '../core/errors.ts'

/** Rules for one string field of a body. */
export interface StringField {
  /** Whether the field must be present. */
  required: boolean
  /** Longest accepted value, in UTF-16 code units. */
  maxLength: number
}

/** Options of {@linkcode readJsonBody}. */
export interface JsonBodyOptions<F extends string> {
  /** Largest accepted body in bytes. */
  maxBytes: number
  /** The allow-list of fields; any other field is rejected. */
  fields: Record<F, StringField>
}

/**
 * Reads, size-caps, parses and validates a JSON object body of string fields.
 *
 * @param request the incoming request
 * @param options size cap and field rules
 * @returns the allow-listed fields (a null-prototype object, so `__proto__` has no effect)
 * @throws {ApiError} 415, 413 or 400 `invalid_request`
 */
export async function readJsonBody<F extends string>(
  request: Request,
  options: JsonBodyOptions<F>,
): Promise<Partial<Record<F, string>>> {
  if (!isJsonContentType(request.headers.get('Content-Type'))) {
    throw new ApiError(415, 'unsupported_media_type', 'unsupportedMediaType')
  }
  const text = await readText(request, options.maxBytes)
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
    if (value.length === 0 || value.length > rule.maxLength) {
      throw invalidRequest('fieldLength', name)
    }
    if (!isStorableText(value)) throw invalidRequest('unstorableText', name)
    result[name] = value
  }
  return result
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

/** `application/json`, optionally with `charset=utf-8`; anything else is refused. */
function isJsonContentType(value: string | null): boolean {
  if (value === null) return false
  const [type, ...params] = value.split(';').map((part) => part.trim().toLowerCase())
  if (type !== 'application/json') return false
  return params.every((param) => param === '' || param === 'charset=utf-8')
}

/** Reads the body as UTF-8, aborting as soon as it passes `maxBytes`. */
async function readText(request: Request, maxBytes: number): Promise<string> {
  const bytes = await readCapped(request, maxBytes)
  if (bytes === undefined) throw new ApiError(413, 'payload_too_large', 'payloadTooLarge')
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw invalidRequest('invalidJson')
  }
}
