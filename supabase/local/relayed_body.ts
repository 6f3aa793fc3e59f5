/**
 * Request bodies across the hop from the functions host to a function's worker, failing where
 * the client's failed (see `worker_protocol.ts`): {@linkcode relayBody} on the host's side,
 * {@linkcode RelayedBodies} on the worker's. Without it, a body the client cut short would reach
 * the function complete but shorter (a different error), or fail the whole relayed request (no
 * answer from the function at all). A body the function leaves unread is read to its end before
 * the answer goes out, for the same reason.
 *
 * @module
 */
import { CONTENT_LENGTH_HEADER, REQUEST_ID_HEADER } from './worker_protocol.ts'

/**
 * The client's body as the host relays it: the same bytes; when reading it fails, `failed` is
 * awaited (it tells the worker) and the relayed body then ends normally.
 *
 * @param source the client's body
 * @param failed tells the worker the body failed
 * @returns the body to send the worker
 */
export function relayBody(
  source: ReadableStream<Uint8Array>,
  failed: () => Promise<void>,
): ReadableStream<Uint8Array> {
  const reader = source.getReader()
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: ReadableStreamReadResult<Uint8Array>
      try {
        chunk = await reader.read()
      } catch {
        await failed()
        controller.close()
        return
      }
      if (chunk.done) controller.close()
      else controller.enqueue(chunk.value)
    },
    cancel(reason) {
      return reader.cancel(reason)
    },
  })
}

/** Whether one relayed body failed, and how to fail the stream the function reads. */
interface BodyState {
  failed: boolean
  fail?: () => void
}

/** The most of a relayed body the worker reads and drops once the function is done with it. */
const DRAIN_MAX_BYTES = 64 * 1024 * 1024

/** How long a failure reported before its request arrived is kept. */
const EARLY_FAILURE_MS = 10_000

/** The worker's side: relayed requests restored for the function, and their failures. */
export class RelayedBodies {
  readonly #bodies = new Map<string, BodyState>()

  /**
   * The request as the client sent it: its `Content-Length` back, the host's headers gone, and a
   * body that fails where the client's failed.
   *
   * @param request the request from the host
   * @returns the request for the function, and what to await once the function has answered
   *   (the rest of a body it left unread is read first)
   */
  restore(request: Request): { request: Request; done: () => Promise<void> } {
    const id = request.headers.get(REQUEST_ID_HEADER)
    if (id === null || request.body === null) return { request, done: () => Promise.resolve() }
    const headers = new Headers(request.headers)
    headers.delete(REQUEST_ID_HEADER)
    const length = headers.get(CONTENT_LENGTH_HEADER)
    headers.delete(CONTENT_LENGTH_HEADER)
    if (length !== null) {
      headers.delete('transfer-encoding')
      headers.set('content-length', length)
    }
    const state = this.#state(id)
    const reader = request.body.getReader()
    const incomplete = () => new Error('the request body ended before it was complete')
    let settled = false
    let draining: Promise<void> | null = null
    // What the function leaves unread is read and dropped before its answer goes out, not
    // refused: Deno 2.1's fetch (the host's) fails the whole exchange, answer and all, when the
    // server answers and closes while the body is still on its way. Past a bound the rest is
    // refused after all.
    const drain = () => {
      draining ??= (async () => {
        let left = DRAIN_MAX_BYTES
        for (;;) {
          const { done, value } = await reader.read()
          if (done) return
          left -= value.byteLength
          if (left < 0) return await reader.cancel()
        }
      })().catch(() => {})
      return draining
    }
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        state.fail = () => {
          if (settled) return
          settled = true
          controller.error(incomplete())
          drain()
        }
        if (state.failed) state.fail()
      },
      async pull(controller) {
        try {
          const chunk = await reader.read()
          if (settled) return
          if (!chunk.done) return controller.enqueue(chunk.value)
          settled = true
          if (state.failed) controller.error(incomplete())
          else controller.close()
        } catch (err) {
          if (settled) return
          settled = true
          controller.error(err)
        }
      },
      cancel() {
        settled = true
        drain()
      },
    })
    return {
      request: new Request(request.url, {
        method: request.method,
        headers,
        body,
      }),
      done: async () => {
        this.#bodies.delete(id)
        // Answered without reading its body; one it cancelled or that failed is draining already.
        if (!body.locked) drain()
        await draining
      },
    }
  }

  /**
   * The client's body of request `id` failed: the function's read fails now, or at the body's end
   * if the request has not arrived yet.
   *
   * @param id the request id
   */
  fail(id: string): void {
    const known = this.#bodies.has(id)
    const state = this.#state(id)
    state.failed = true
    state.fail?.()
    if (!known) setTimeout(() => this.#bodies.delete(id), EARLY_FAILURE_MS)
  }

  #state(id: string): BodyState {
    let state = this.#bodies.get(id)
    if (!state) {
      state = { failed: false }
      this.#bodies.set(id, state)
    }
    return state
  }
}
