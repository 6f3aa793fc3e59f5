/**
 * The one capped body reader: request bodies, JWKS responses and the bearer check's look at a
 * body all read through it. The cap holds while streaming, whatever `Content-Length` claims, so
 * a peer cannot make an instance buffer more than the cap.
 *
 * @module
 */

/** A request or a response: what has a body and headers. */
export interface HasBody {
  readonly body: ReadableStream<Uint8Array> | null
  readonly headers: Headers
}

/**
 * The body ended before it was complete: the peer closed the connection before the length its
 * `Content-Length` declared, or in the middle of a chunked body. The peer's fault, not a bug:
 * the runtime reports it as an error of the body stream, with a name that differs between Deno
 * versions (`Http`, `BadResource`), so every failure of the stream is reported as this.
 */
export class IncompleteBodyError extends Error {
  /**
   * @param cause the body stream's failure
   */
  constructor(cause: unknown) {
    super('the body ended before it was complete', { cause })
    this.name = 'IncompleteBodyError'
  }
}

/**
 * Reads a body to the end, or stops as soon as it passes `maxBytes`. A declared
 * `Content-Length` over the cap is refused before anything is read.
 *
 * @param message the request or response whose body is read (consumed)
 * @param maxBytes the largest accepted size
 * @returns the bytes (empty without a body), or undefined when the body is larger than
 *   `maxBytes` (the stream is cancelled)
 * @throws {IncompleteBodyError} when the body stream fails before its end
 */
export async function readCapped(
  message: HasBody,
  maxBytes: number,
): Promise<Uint8Array | undefined> {
  const body = message.body
  if (Number(message.headers.get('content-length') ?? '0') > maxBytes) {
    await body?.cancel().catch(() => {})
    return undefined
  }
  if (body === null) return new Uint8Array(0)
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    for (;;) {
      const { done, value } = await reader.read().catch((error: unknown) => {
        throw new IncompleteBodyError(error)
      })
      if (done) break
      size += value.byteLength
      if (size > maxBytes) return undefined
      chunks.push(value)
    }
  } finally {
    reader.cancel().catch(() => {})
  }
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  return bytes
}
