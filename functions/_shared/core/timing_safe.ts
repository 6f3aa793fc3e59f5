/**
 * The one constant-time comparison: API keys here, and the local stack's gateway keys and
 * control token. Its time depends on the longer input's length only, never on where the two
 * first differ.
 *
 * @module
 */

/**
 * Compares two byte arrays without stopping at the first difference.
 *
 * @param a one array
 * @param b the other
 * @returns true when both hold the same bytes
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let difference = a.length ^ b.length
  for (let i = 0; i < Math.max(a.length, b.length); i++) difference |= (a[i] ?? 0) ^ (b[i] ?? 0)
  return difference === 0
}
