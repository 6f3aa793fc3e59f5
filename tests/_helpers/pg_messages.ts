/**
 * PostgreSQL backend messages framed as a server sends them, for tests that play the server:
 * the client's wire reader, and scripted servers that misbehave in ways PostgreSQL never does.
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

/**
 * An Authentication request (`R`) with its code (0 ok, 3 cleartext, 5 md5, 10 SASL...).
 *
 * @param code the authentication code
 * @param extra what follows the code (mechanisms, SCRAM data, md5 salt)
 * @returns the bytes on the wire
 */
export function authenticationMessage(code: number, extra = new Uint8Array(0)): Uint8Array {
  const body = new Uint8Array(4 + extra.length)
  new DataView(body.buffer).setInt32(0, code)
  body.set(extra, 4)
  return backendMessage('R', body)
}
