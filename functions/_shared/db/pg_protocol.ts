/**
 * PostgreSQL's wire protocol (version 3.0), the part a client needs: the frontend messages it
 * sends, and a reader that cuts the byte stream from the server into backend messages.
 *
 * @module
 */

const encoder = new TextEncoder()
// ignoreBOM: a value may begin with U+FEFF, and it is data, not a byte-order mark.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Protocol version 3.0, as the startup message states it. */
const PROTOCOL_VERSION = 196608
/** The code of an SSLRequest, sent instead of a protocol version. */
const SSL_REQUEST_CODE = 80877103
/** The size of the read buffer a connection starts with. */
const READ_CHUNK = 64 * 1024
/** The largest backend message accepted: a bound on what a misbehaving server makes us buffer. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024

/** A backend message: its type byte and its body (without the type and length). */
export interface BackendMessage {
  readonly type: number
  readonly body: Uint8Array
}

/** Builds a frontend message body field by field. */
class MessageWriter {
  #parts: Uint8Array[] = []
  #length = 0

  bytes(value: Uint8Array): this {
    this.#parts.push(value)
    this.#length += value.length
    return this
  }

  /** A NUL-terminated string. PostgreSQL cannot carry a NUL inside one, so that is an error. */
  cstring(value: string): this {
    if (value.includes('\0')) throw new TypeError('A protocol string cannot contain NUL')
    return this.bytes(encoder.encode(value)).bytes(new Uint8Array([0]))
  }

  int16(value: number): this {
    const out = new Uint8Array(2)
    new DataView(out.buffer).setInt16(0, value)
    return this.bytes(out)
  }

  int32(value: number): this {
    const out = new Uint8Array(4)
    new DataView(out.buffer).setInt32(0, value)
    return this.bytes(out)
  }

  /** The message: type byte (none for startup messages), length, body. */
  message(type: string | null): Uint8Array {
    const head = new Uint8Array(type === null ? 4 : 5)
    if (type !== null) head[0] = type.charCodeAt(0)
    new DataView(head.buffer).setInt32(head.length - 4, this.#length + 4)
    return concat([head, ...this.#parts])
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/**
 * The startup message: protocol 3.0 and the session parameters (`user`, `database`...).
 *
 * @param parameters name → value; empty values are left out
 * @returns the message bytes
 */
export function startupMessage(parameters: Record<string, string>): Uint8Array {
  const writer = new MessageWriter().int32(PROTOCOL_VERSION)
  for (const [name, value] of Object.entries(parameters)) {
    if (value !== '') writer.cstring(name).cstring(value)
  }
  return writer.bytes(new Uint8Array([0])).message(null)
}

/** The SSLRequest: asks the server whether it speaks TLS on this connection. */
export function sslRequest(): Uint8Array {
  return new MessageWriter().int32(SSL_REQUEST_CODE).message(null)
}

/**
 * A SASLInitialResponse: the mechanism chosen and the client's first message.
 *
 * @param mechanism e.g. `SCRAM-SHA-256`
 * @param data the client-first-message
 * @returns the message bytes
 */
export function saslInitialResponse(mechanism: string, data: string): Uint8Array {
  const bytes = encoder.encode(data)
  return new MessageWriter().cstring(mechanism).int32(bytes.length).bytes(bytes).message('p')
}

/**
 * A SASLResponse (also a PasswordMessage: both are type `p`).
 *
 * @param data the payload
 * @param terminated whether to NUL-terminate it (a cleartext password is a C string)
 * @returns the message bytes
 */
export function passwordMessage(data: string, terminated: boolean): Uint8Array {
  const writer = new MessageWriter()
  return (terminated ? writer.cstring(data) : writer.bytes(encoder.encode(data))).message('p')
}

/**
 * One query in the extended protocol, unnamed statement and portal (what a transaction pooler
 * allows): Parse, Bind with every parameter and result in text, Describe, Execute, Sync.
 *
 * @param text the SQL, with `$1`... placeholders
 * @param parameters the values in text format (null is SQL NULL)
 * @param types the parameters' type OIDs (0: let the server infer it)
 * @returns the bytes of the five messages
 */
export function extendedQuery(
  text: string,
  parameters: readonly (string | null)[],
  types: readonly number[],
): Uint8Array {
  const parse = new MessageWriter().cstring('').cstring(text).int16(types.length)
  for (const type of types) parse.int32(type)
  const bind = new MessageWriter().cstring('').cstring('').int16(0).int16(parameters.length)
  for (const value of parameters) {
    if (value === null) {
      bind.int32(-1)
    } else {
      const bytes = encoder.encode(value)
      bind.int32(bytes.length).bytes(bytes)
    }
  }
  bind.int16(0)
  return concat([
    parse.message('P'),
    bind.message('B'),
    new MessageWriter().bytes(new Uint8Array(['P'.charCodeAt(0)])).cstring('').message('D'),
    new MessageWriter().cstring('').int32(0).message('E'),
    new MessageWriter().message('S'),
  ])
}

/** The Terminate message: the polite end of a connection. */
export function terminateMessage(): Uint8Array {
  return new MessageWriter().message('X')
}

/** Reads a backend message body field by field. */
export class MessageReader {
  #view: DataView
  #offset = 0

  constructor(readonly body: Uint8Array) {
    this.#view = new DataView(body.buffer, body.byteOffset, body.byteLength)
  }

  /** How many bytes are left to read. */
  remaining(): number {
    return this.body.length - this.#offset
  }

  byte(): number {
    const value = this.#view.getUint8(this.#offset)
    this.#offset += 1
    return value
  }

  int16(): number {
    const value = this.#view.getInt16(this.#offset)
    this.#offset += 2
    return value
  }

  int32(): number {
    const value = this.#view.getInt32(this.#offset)
    this.#offset += 4
    return value
  }

  cstring(): string {
    const end = this.body.indexOf(0, this.#offset)
    if (end < 0) throw new TypeError('Malformed message: unterminated string')
    const value = decoder.decode(this.body.subarray(this.#offset, end))
    this.#offset = end + 1
    return value
  }

  /** `length` bytes as UTF-8 text. */
  text(length: number): string {
    const value = decoder.decode(this.body.subarray(this.#offset, this.#offset + length))
    this.#offset += length
    return value
  }

  /** The rest of the body as UTF-8 text. */
  rest(): string {
    return this.text(this.body.length - this.#offset)
  }
}

/**
 * The fields of an ErrorResponse or NoticeResponse, by their one-letter codes (`C` SQLSTATE,
 * `M` message, `S` severity, `D` detail, `H` hint...).
 *
 * @param body the message body
 * @returns code → value
 */
export function errorFields(body: Uint8Array): Record<string, string> {
  const reader = new MessageReader(body)
  const fields: Record<string, string> = {}
  while (reader.remaining() > 0) {
    const code = reader.byte()
    if (code === 0) break
    fields[String.fromCharCode(code)] = reader.cstring()
  }
  return fields
}

/**
 * Cuts a byte stream into backend messages.
 *
 * @param read reads some bytes into the buffer, as `Deno.Conn.read` does (null at the end)
 * @returns an iterator of messages; it ends when the stream does
 * @throws TypeError when a length is impossible or a message is larger than 64 MiB
 */
export async function* backendMessages(
  read: (buffer: Uint8Array) => Promise<number | null>,
): AsyncGenerator<BackendMessage> {
  // One buffer, doubled when a message needs more: a large row is copied a few times, not once
  // per chunk read; back to the small size once it is consumed.
  let buffer = new Uint8Array(READ_CHUNK)
  let start = 0
  let end = 0
  while (true) {
    let needed = 0
    while (end - start >= 5) {
      const length = new DataView(buffer.buffer, start + 1, 4).getInt32(0)
      if (length < 4 || length > MAX_MESSAGE_BYTES) {
        throw new TypeError(`Malformed message: length ${length}`)
      }
      if (end - start < length + 1) {
        needed = length + 1
        break
      }
      yield { type: buffer[start]!, body: buffer.slice(start + 5, start + 1 + length) }
      start += length + 1
    }
    if (start === end) {
      start = end = 0
      if (buffer.length > READ_CHUNK) buffer = new Uint8Array(READ_CHUNK)
    }
    // Room from `start` for the message being read, and for a read after what is buffered.
    const wanted = Math.max(needed, end - start + READ_CHUNK / 4)
    if (buffer.length - start < wanted) {
      if (buffer.length >= wanted) {
        buffer.copyWithin(0, start, end)
      } else {
        const grown = new Uint8Array(Math.max(wanted, buffer.length * 2))
        grown.set(buffer.subarray(start, end))
        buffer = grown
      }
      end -= start
      start = 0
    }
    const count = await read(buffer.subarray(end))
    if (count === null) return
    end += count
  }
}
