/**
 * Media types as RFC 9110 §8.3.1 writes them, `type/subtype` then `;`-separated parameters whose
 * values are tokens or quoted strings (§5.6.6): `charset="utf-8"` is `charset=utf-8`, `CHARSET`
 * is `charset`, and whitespace may surround each `;`. Anything outside that grammar is no media
 * type at all, so a request is never read as what it might have meant.
 *
 * @module
 */

/** A parsed media type. */
export interface MediaType {
  /** `type/subtype` in lower case (both are case-insensitive). */
  essence: string
  /**
   * The parameters in the order sent, names in lower case (case-insensitive), values unquoted
   * and unescaped but otherwise as sent (whether a value is case-insensitive depends on the
   * parameter). A name may repeat: the caller decides what that means.
   */
  parameters: readonly (readonly [name: string, value: string])[]
}

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+"
const ESSENCE = new RegExp(`^(${TOKEN}/${TOKEN})`)
// OWS ";" OWS [ name "=" ( token / quoted-string ) ]: qdtext is HTAB, SP, VCHAR but `"` and `\`,
// or obs-text; a quoted-pair is `\` and HTAB, SP, VCHAR or obs-text.
const PARAMETER = new RegExp(
  `[\\t ]*;[\\t ]*(?:(${TOKEN})=(?:(${TOKEN})|"((?:[\\t !#-\\[\\]-~\\x80-\\xff]|\\\\[\\t !-~\\x80-\\xff])*)"))?`,
  'y',
)
const QUOTED_PAIR = /\\([\s\S])/g

/**
 * Parses a `Content-Type` value.
 *
 * @param value the header's value (surrounding whitespace is ignored, as HTTP does)
 * @returns the media type, or undefined when the value does not follow the grammar
 */
export function parseMediaType(value: string): MediaType | undefined {
  const text = value.replace(/^[\t ]+|[\t ]+$/g, '')
  const essence = ESSENCE.exec(text)
  if (!essence) return undefined
  const parameters: [string, string][] = []
  let at = essence[0].length
  while (at < text.length) {
    PARAMETER.lastIndex = at
    const match = PARAMETER.exec(text)
    if (!match) return undefined
    at = PARAMETER.lastIndex
    const [, name, token, quoted] = match
    if (name === undefined) continue
    parameters.push([name.toLowerCase(), token ?? quoted!.replace(QUOTED_PAIR, '$1')])
  }
  return { essence: essence[1]!.toLowerCase(), parameters }
}
