/**
 * The ways clients spell the same JSON object of strings, for the tests of body size caps: as
 * `JSON.stringify` writes it (raw UTF-8), as Python's `json.dumps` writes it by default (every
 * character outside printable ASCII as `\uXXXX`, one outside the Basic Multilingual Plane as a
 * surrogate pair, `", "` and `": "` between members), the same pretty-printed, and with every
 * character of names and values escaped: the largest spelling JSON allows.
 *
 * @module
 */
import fc from 'fast-check'

/** How a body is spelt. */
export type Spelling = 'stringify' | 'python' | 'python-indent' | 'escape-all'

/** Every spelling. */
export const SPELLINGS: readonly Spelling[] = ['stringify', 'python', 'python-indent', 'escape-all']

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
}

/** `\uXXXX` of one UTF-16 code unit, in lower case as Python writes it. */
function unitEscape(unit: number): string {
  return `\\u${unit.toString(16).padStart(4, '0')}`
}

/** A string as Python's `json.dumps` (ensure_ascii) writes it. */
function pythonString(value: string): string {
  let out = '"'
  for (let i = 0; i < value.length; i++) {
    const char = value[i]!
    const unit = value.charCodeAt(i)
    if (SHORT_ESCAPES[char]) out += SHORT_ESCAPES[char]
    else if (unit >= 0x20 && unit <= 0x7e) out += char
    else out += unitEscape(unit)
  }
  return `${out}"`
}

/** A string with every code unit escaped. */
function escapedString(value: string): string {
  let out = '"'
  for (let i = 0; i < value.length; i++) out += unitEscape(value.charCodeAt(i))
  return `${out}"`
}

/**
 * Spells an object of strings.
 *
 * @param value the members, in order
 * @param spelling how
 * @returns the JSON text
 */
export function spellJson(value: Readonly<Record<string, string>>, spelling: Spelling): string {
  const members = Object.entries(value)
  switch (spelling) {
    case 'stringify':
      return JSON.stringify(value)
    case 'python':
      return `{${members.map(([k, v]) => `${pythonString(k)}: ${pythonString(v)}`).join(', ')}}`
    case 'python-indent':
      // json.dumps(value, indent=2)
      return `{\n${
        members.map(([k, v]) => `  ${pythonString(k)}: ${pythonString(v)}`).join(',\n')
      }\n}`
    case 'escape-all':
      return `{${members.map(([k, v]) => `${escapedString(k)}:${escapedString(v)}`).join(',')}}`
  }
}

/**
 * Characters a note or a password may hold, each one code point: ASCII, JSON's own escapes, a
 * control character, non-ASCII letters of the Basic Multilingual Plane, the line separator, and
 * characters outside it (an emoji, a CJK extension ideograph, the last code point), which
 * JavaScript counts as two.
 */
export const CHARACTERS: readonly string[] = [
  'a',
  'Z',
  '7',
  ' ',
  '"',
  '\\',
  '\n',
  '\u0001',
  '\u007f',
  '\u00e9',
  '\u4e2d',
  '\u2028',
  '\uffff',
  '\u{1F600}',
  '\u{20000}',
  '\u{10FFFF}',
]

/** The characters outside the Basic Multilingual Plane: the largest when escaped (12 bytes). */
export const ASTRAL: readonly string[] = CHARACTERS.filter((c) => c.length === 2)

/**
 * Strings of exactly `length` characters (code points), from {@linkcode CHARACTERS}, or only
 * astral ones (the worst case for the size cap).
 *
 * @param length the number of code points
 * @returns the arbitrary
 */
export function stringOfLength(length: number): fc.Arbitrary<string> {
  return fc.oneof(
    fc.array(fc.constantFrom(...CHARACTERS), { minLength: length, maxLength: length })
      .map((chars) => chars.join('')),
    fc.constantFrom(...ASTRAL).map((c) => c.repeat(length)),
    fc.constantFrom(...CHARACTERS).map((c) => c.repeat(length)),
  )
}
