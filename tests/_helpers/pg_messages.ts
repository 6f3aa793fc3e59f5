/**
 * PostgreSQL backend messages framed as a server sends them, for tests that play a server that
 * misbehaves in ways PostgreSQL never does.
 *
 * @module
 */

/**
 * A backend message: type byte, 32-bit length (itself included), body.
 *
 * @param type the one-letter message type, e.g. `R`, `E`, `Z`
 * @param body the body
 * @returns the bytes on the wire
 */
export function backendMessage(type: string, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(5 + body.length)
  out[0] = type.charCodeAt(0)
  new DataView(out.buffer).setInt32(1, body.length + 4)
  out.set(body, 5)
  return out
}
