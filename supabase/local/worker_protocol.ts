/**
 * What the functions host and a function's worker process (`function_worker.ts`) agree on: the
 * line a worker prints once it listens, the exit codes that say why it ended, how a request body
 * that failed on the client's side is passed on, and the loopback path that reports its memory.
 *
 * @module
 */

/** Printed on stdout, followed by the port, once the worker has booted and listens. */
export const LISTENING_PREFIX = 'edge-auth function worker listening on 127.0.0.1:'

/** Exit codes of a worker that ended itself. */
export const WorkerExit = Object.freeze({
  /** The entrypoint failed to import, or has no `fetch` (the runtime's BOOT_ERROR). */
  bootFailed: 70,
  /** V8 heap plus ArrayBuffers reached the memory limit. */
  memoryLimit: 71,
  /** Stopped by a signal (the host's SIGTERM, a terminal's Ctrl-C) or the host's exit. */
  stopped: 72,
})

/**
 * A request body the host relays can fail on the client's side (a connection closed before its
 * `Content-Length`, a chunked body cut short). The function must then see its body fail, as it
 * would without the relay, so the host relays every body chunked under a request id
 * ({@linkcode REQUEST_ID_HEADER}, the declared length in {@linkcode CONTENT_LENGTH_HEADER}), and
 * when the client's body fails, `POST`s {@linkcode BODY_FAILED_PATH}`<id>` before it ends the
 * relayed body: the worker hands the function a body that fails there.
 */
export const REQUEST_ID_HEADER = 'x-edge-auth-worker-request'
/** The client's `Content-Length`, restored by the worker for the function. */
export const CONTENT_LENGTH_HEADER = 'x-edge-auth-worker-content-length'
/** What the host's request headers start with; a client's own are dropped. */
export const PRIVATE_HEADER_PREFIX = 'x-edge-auth-worker-'
/** `POST <path><request id>`: that request's body failed on the client's side. */
export const BODY_FAILED_PATH = '/_worker/body-failed/'

/**
 * `GET` on the worker's port answers `{pid, rss, heapTotal, heapUsed, external}` in bytes. The
 * worker's own paths are never a function's: those always start with `/<name>`, and a name never
 * starts with `_`.
 */
export const MEMORY_PATH = '/_worker/memory'

/** A worker's memory, as {@linkcode MEMORY_PATH} reports it. */
export interface WorkerMemory {
  pid: number
  /** Resident memory of the whole process, the Deno binary and its code included. */
  rss: number
  heapTotal: number
  heapUsed: number
  /** ArrayBuffers and other memory outside the V8 heap that V8 knows of. */
  external: number
}
