/**
 * Opaque page cursors for the notes list: the exact position (creation time in microseconds since
 * the epoch, as PostgreSQL keeps it, and id) of the last note of a page, base64url-encoded so
 * clients treat it as a token rather than something to edit. Milliseconds would not do: notes
 * created within one millisecond of a page boundary were skipped.
 *
 * @module
 */
import { isUuid } from '@edge-auth/edge-auth'

const MAX_CURSOR_LENGTH = 200
/** Positions PostgreSQL's timestamptz holds without overflow: 1970 up to the year 9999. */
const MAX_MICROS = 253_402_300_800_000_000n

/** A decoded cursor. */
export interface Cursor {
  /** Microseconds since the epoch, as a decimal string (beyond a JavaScript number's precision). */
  micros: string
  id: string
}

/**
 * Encodes the position after which the next page starts.
 *
 * @param micros the last row's `created_at` in microseconds since the epoch, as PostgreSQL gives it
 * @param id the last row's id
 * @returns the cursor
 */
export function encodeCursor(micros: string, id: string): string {
  const text = JSON.stringify([micros, id])
  return btoa(text).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

/**
 * Decodes a cursor.
 *
 * @param value what the client sent
 * @returns the position, or undefined for anything that is not one of ours
 */
export function decodeCursor(value: string): Cursor | undefined {
  if (value.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(value)) return undefined
  try {
    const parsed = JSON.parse(atob(value.replaceAll('-', '+').replaceAll('_', '/')))
    if (!Array.isArray(parsed) || parsed.length !== 2) return undefined
    const [micros, id] = parsed
    if (typeof micros !== 'string' || !/^(0|[1-9][0-9]{0,17})$/.test(micros)) return undefined
    if (BigInt(micros) > MAX_MICROS) return undefined
    if (!isUuid(id)) return undefined
    return { micros, id }
  } catch {
    return undefined
  }
}
