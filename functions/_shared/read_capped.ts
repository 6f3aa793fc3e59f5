/**
 * Reading a request body with a size cap enforced while streaming, whatever `Content-Length`
 * claims: a client cannot make us buffer more than the cap.
 *
 * @module
 */

/**
 * Reads a stream to the end, or stops as soon as it passes `maxBytes`.
 *
 * @param body the stream to read (consumed)
 * @param maxBytes the largest accepted size
 * @returns the bytes, or undefined when the stream was larger than `maxBytes` (it is cancelled)
 */
export async function readCapped(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
): Promise<Uint8Array | undefined> {
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
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
