/**
 * The one UUID check: user ids, session ids and note ids are UUIDs written in lower case by
 * Supabase Auth and PostgreSQL, and one spelling keeps cache keys and SQL casts unambiguous.
 *
 * @module
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * Tells whether a value is a UUID in its canonical lower-case spelling.
 *
 * @param value anything
 * @returns true for a string such as `123e4567-e89b-12d3-a456-426614174000`
 */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value)
}
