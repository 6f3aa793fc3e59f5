/**
 * Rows from a statement postgres.js ran raw (each value its bytes): decoded here, so that a
 * leading U+FEFF stays data, then read by postgres.js's parser for the column's type.
 *
 * @module
 */
import type { Row } from './sql.ts'

/** What postgres.js gives for a statement run raw: each row its values' bytes, in column order. */
export type RawResult = (Uint8Array | null)[][] & {
  columns?: { name: string; parser?: ((text: string) => unknown) & { array?: boolean } }[] | null
}

// A leading U+FEFF is data: Deno 2.1's `Buffer` drops it when it decodes text, as postgres.js
// does for every value, so a note beginning with one would not read back as it was written.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true })

/**
 * The rows of a raw result as objects, each value decoded here and read by postgres.js's parser
 * for its column type, as postgres.js reads it otherwise.
 *
 * @param result what postgres.js resolved a raw statement with
 * @returns the rows, column name → value
 */
export function rowsOf(result: RawResult): Row[] {
  const columns = result.columns
  // Several statements in one (code-written SQL only): their results as postgres.js gives them.
  if (!columns) return [...result] as unknown as Row[]
  const rows: Row[] = []
  for (const values of result) {
    const row: Row = {}
    columns.forEach((column, index) => {
      const value = values[index]
      if (value === null || value === undefined) {
        row[column.name] = null
        return
      }
      const text = utf8.decode(value)
      const parser = column.parser
      // postgres.js hands an array parser the text without its opening brace.
      row[column.name] = parser === undefined
        ? text
        : parser.array === true
        ? parser(text.slice(1))
        : parser(text)
    })
    rows.push(row)
  }
  return rows
}
