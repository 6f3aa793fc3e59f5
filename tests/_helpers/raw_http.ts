/**
 * HTTP/1.1 as raw bytes on a socket, for what `fetch` cannot send: a body cut short (the client
 * half-closes before its `Content-Length` is reached, or in the middle of a chunked body).
 *
 * @module
 */

/** A response read off the socket. */
export interface RawResponse {
  status: number
  /** Header names in lower case; repeated ones joined with `, `. */
  headers: Headers
  body: string
  /** Everything read, for failure messages. */
  raw: string
}

const te = new TextEncoder()

/**
 * Connects, writes `bytes`, closes the writing half (the server reads end of file where it
 * expected more) unless told not to, and reads the answer until the server closes. Send a whole
 * request with `halfClose: false` and `Connection: close`: some Deno versions drop the answer to
 * a client that half-closed after a complete request.
 *
 * @param port the server's port on 127.0.0.1
 * @param bytes the request as sent
 * @param halfClose whether to close the writing half after the bytes (default true)
 * @returns the parsed response
 */
export async function rawExchange(
  port: number,
  bytes: Uint8Array | string,
  halfClose = true,
): Promise<RawResponse> {
  const connection = await Deno.connect({ hostname: '127.0.0.1', port })
  const chunks: Uint8Array[] = []
  try {
    await connection.write(typeof bytes === 'string' ? te.encode(bytes) : bytes).catch(() => 0)
    if (halfClose) await connection.closeWrite().catch(() => {})
    const buffer = new Uint8Array(65536)
    for (;;) {
      const read = await connection.read(buffer).catch(() => null)
      if (read === null) break
      chunks.push(buffer.slice(0, read))
    }
  } finally {
    try {
      connection.close()
    } catch { /* already closed by the server */ }
  }
  return parseResponse(new TextDecoder().decode(concat(chunks)))
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0))
  let at = 0
  for (const chunk of chunks) {
    bytes.set(chunk, at)
    at += chunk.length
  }
  return bytes
}

/** Parses one HTTP/1.1 response with a `Content-Length` or chunked body. */
function parseResponse(raw: string): RawResponse {
  const end = raw.indexOf('\r\n\r\n')
  if (!raw.startsWith('HTTP/1.1 ') || end === -1) {
    return { status: 0, headers: new Headers(), body: '', raw }
  }
  const [statusLine, ...lines] = raw.slice(0, end).split('\r\n')
  const headers = new Headers()
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim())
  }
  let body = raw.slice(end + 4)
  if (headers.get('transfer-encoding')?.toLowerCase() === 'chunked') {
    let decoded = ''
    for (;;) {
      const lineEnd = body.indexOf('\r\n')
      const size = parseInt(body.slice(0, lineEnd), 16)
      if (!(size > 0)) break
      decoded += body.slice(lineEnd + 2, lineEnd + 2 + size)
      body = body.slice(lineEnd + 2 + size + 2)
    }
    body = decoded
  }
  return { status: Number(statusLine!.slice(9, 12)), headers, body, raw }
}

/** How a request's body is framed on the wire. */
export type Framing = 'length' | 'chunked'

/**
 * A POST whose body is cut after `sent` of its bytes: with `Content-Length` of the whole body,
 * or chunked in chunks of `chunkSize`, with no last chunk.
 *
 * @param path the request target
 * @param headers header lines to send (name: value)
 * @param body the whole body
 * @param sent how many bytes of it are sent
 * @param framing how the body is framed
 * @param chunkSize the size of each chunk of a chunked body
 * @returns the request's bytes
 */
export function cutRequest(
  path: string,
  headers: Record<string, string>,
  body: Uint8Array,
  sent: number,
  framing: Framing,
  chunkSize = 1024,
): Uint8Array {
  const lines = [`POST ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close']
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`)
  lines.push(framing === 'length' ? `Content-Length: ${body.length}` : 'Transfer-Encoding: chunked')
  const head = te.encode(`${lines.join('\r\n')}\r\n\r\n`)
  if (framing === 'length') return concat([head, body.slice(0, sent)])
  const parts: Uint8Array[] = [head]
  // Whole chunks up to the cut; the chunk the cut falls into announces its full size.
  for (let at = 0; at < sent; at += chunkSize) {
    const chunk = body.slice(at, Math.min(at + chunkSize, body.length))
    const kept = chunk.slice(0, Math.min(chunk.length, sent - at))
    parts.push(te.encode(`${chunk.length.toString(16)}\r\n`), kept)
    if (kept.length === chunk.length) parts.push(te.encode('\r\n'))
  }
  return concat(parts)
}
