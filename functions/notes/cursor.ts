/**
 * Opaque page cursors for the notes list: the position (creation time, id) of the last note of a
 * page, base64url-encoded so clients treat it as a token rather than something to edit.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const MAX_CURSOR_LENGTH = 200

/** A decoded cursor. */
export interface Cursor {
  createdAt: string
  id: string
}

/** Encodes the position after which the next page starts. */
export function encodeCursor(createdAt: Date, id: string): string {
  const text = JSON.stringify([createdAt.toISOString(), id])
  return btoa(text).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

/** Decodes a cursor, or returns undefined for anything that is not one of ours. */
export function decodeCursor(value: string): Cursor | undefined {
  if (value.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(value)) return undefined
  try {
    const parsed = JSON.parse(atob(value.replaceAll('-', '+').replaceAll('_', '/')))
    if (!Array.isArray(parsed) || parsed.length !== 2) return undefined
    const [createdAt, id] = parsed
    if (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt))) return undefined
    if (typeof id !== 'string' || !UUID.test(id)) return undefined
    return { createdAt, id }
  } catch {
    return undefined
  }
}
