/**
 * Values between JavaScript and PostgreSQL's text format: parameters out, column values in, by
 * type OID, for the built-in types the functions use. Anything else stays text.
 *
 * @module
 */

/** Type OIDs of the built-in types that are not read back as strings. */
const OID = {
  bool: 16,
  bytea: 17,
  int8: 20,
  int2: 21,
  int4: 23,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  date: 1082,
  timestamp: 1114,
  timestamptz: 1184,
  jsonb: 3802,
} as const

/**
 * Reads a column value in text format.
 *
 * `int8` and `numeric` stay strings (a JavaScript number cannot hold them exactly); `date`,
 * `timestamp` and `timestamptz` become `Date`s (milliseconds: use SQL for microseconds); `json` and
 * `jsonb` are parsed; `bytea` becomes bytes.
 *
 * @param type the column's type OID
 * @param text its value, or null for SQL NULL
 * @returns the value
 */
export function parseValue(type: number, text: string | null): unknown {
  if (text === null) return null
  switch (type) {
    case OID.bool:
      return text === 't'
    case OID.int2:
    case OID.int4:
    case OID.oid:
    case OID.float4:
    case OID.float8:
      return Number(text)
    case OID.json:
    case OID.jsonb:
      return JSON.parse(text)
    case OID.date:
    case OID.timestamp:
    case OID.timestamptz:
      return parseTimestamp(text)
    case OID.bytea:
      return parseBytea(text)
    default:
      return text
  }
}

/**
 * Writes a parameter in text format, with the type OID the server should give it (0: inferred
 * from the query, as for a quoted literal, which is what strings and numbers are).
 *
 * @param value the JavaScript value
 * @returns its text (null for SQL NULL) and type OID
 * @throws TypeError for values with no SQL meaning (functions, symbols)
 */
export function serializeValue(value: unknown): { text: string | null; type: number } {
  if (value === null || value === undefined) return { text: null, type: 0 }
  switch (typeof value) {
    case 'string':
      return { text: value, type: 0 }
    case 'number':
      return { text: String(value), type: 0 }
    case 'bigint':
      return { text: String(value), type: OID.int8 }
    case 'boolean':
      return { text: value ? 't' : 'f', type: OID.bool }
    case 'object':
      if (value instanceof Date) return { text: value.toISOString(), type: OID.timestamptz }
      if (value instanceof Uint8Array) return { text: `\\x${hex(value)}`, type: OID.bytea }
      return { text: JSON.stringify(value), type: 0 }
    default:
      throw new TypeError(`A ${typeof value} cannot be a query parameter`)
  }
}

// ISO output (`DateStyle` ISO, the server default): `2026-12-01 17:06:42.123456+00`. The offset
// may lack minutes, and a plain `timestamp` has none at all: it is read as UTC.
function parseTimestamp(text: string): Date {
  if (text === 'infinity') return new Date(8.64e15)
  if (text === '-infinity') return new Date(-8.64e15)
  const match = /^(\d{4,}-\d\d-\d\d)(?: (\d\d:\d\d:\d\d(?:\.\d+)?))?([+-]\d\d(?::\d\d){0,2})?$/
    .exec(text)
  if (match === null) return new Date(NaN)
  const [, date, time = '00:00:00', offset] = match
  return new Date(`${date}T${time}${offset === undefined ? 'Z' : isoOffset(offset)}`)
}

// `+00`, `+05:30` or `+05:30:15` (a historical zone): JavaScript takes hours and minutes.
function isoOffset(offset: string): string {
  const [hours, minutes = '00'] = offset.slice(1).split(':')
  return `${offset[0]}${hours}:${minutes}`
}

function parseBytea(text: string): Uint8Array {
  const digits = text.startsWith('\\x') ? text.slice(2) : ''
  const out = new Uint8Array(digits.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(i * 2, i * 2 + 2), 16)
  return out
}

function hex(bytes: Uint8Array): string {
  let out = ''
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0')
  return out
}
