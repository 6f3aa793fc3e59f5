/**
 * One function's isolate in the functions host, as the edge runtime keeps a user worker per
 * function: booted on the function's first request, handed its requests, replaced by a fresh one
 * on the next request after it ended (a limit, a crash) or retired (the CPU soft limit). A request
 * the worker could not answer gets the runtime's answer: 546 `WORKER_LIMIT` when a limit ended it,
 * 500 `WORKER_ERROR` when it crashed, 503 `BOOT_ERROR` when it could not boot, each as
 * `{"code", "message"}` with the code in `sb-error-code`, as hosted functions answer.
 *
 * @module
 */
import { relayBody } from './relayed_body.ts'
import { errorResponse, jsonResponse } from './responses.ts'
import { type WorkerEnd, WorkerProcess, type WorkerSpawnOptions } from './worker_process.ts'
import {
  BODY_FAILED_PATH,
  CONTENT_LENGTH_HEADER,
  PRIVATE_HEADER_PREFIX,
  REQUEST_ID_HEADER,
} from './worker_protocol.ts'
import { withoutHopByHop } from './hop_by_hop.ts'
import { SB_API_KEY_HEADER } from './gateway.ts'

/** The runtime's platform errors, with its messages. */
const platformErrors = {
  BOOT_ERROR: [503, 'Worker failed to boot (please check logs)'],
  WORKER_ERROR: [500, 'Function exited due to an error (please check logs)'],
  WORKER_LIMIT: [546, 'Worker failed to respond due to a resource limit (please check logs)'],
} as const

/** Answers up to this size are read whole before they are passed on. */
const BUFFERED_MAX_BYTES = 1024 * 1024

/** How long a failed request waits for its worker's exit, to tell a limit from a crash. */
const EXIT_WAIT_MS = 3_000

/** The isolate of one function. */
export class FunctionIsolate {
  readonly name: string
  readonly #entrypoint: string
  readonly #spawn: WorkerSpawnOptions
  #current: WorkerProcess | null = null
  #booting: Promise<WorkerProcess> | null = null
  readonly #workers = new Set<WorkerProcess>()
  #stopped = false

  /**
   * @param name the function
   * @param entrypoint its `index.ts`
   * @param spawn how to start its workers
   */
  constructor(name: string, entrypoint: string, spawn: WorkerSpawnOptions) {
    this.name = name
    this.#entrypoint = entrypoint
    this.#spawn = spawn
  }

  /** The live workers: the current one and any retiring ones still answering. */
  get workers(): WorkerProcess[] {
    return [...this.#workers]
  }

  /**
   * Hands a request to the function's worker, booting one first if none is ready.
   *
   * @param request the request as the host received it
   * @param path what the function sees: `/<name>/rest?query`
   * @returns the function's response, or the runtime's error
   */
  async fetch(request: Request, path: string): Promise<Response> {
    let worker: WorkerProcess
    try {
      worker = await this.#worker()
    } catch (err) {
      if (this.#stopped) return unavailable()
      this.#spawn.log((err as Error).message)
      return platformError('BOOT_ERROR')
    }
    const source = request.method === 'GET' || request.method === 'HEAD' ? null : request.body
    const id = source === null ? null : crypto.randomUUID()
    let bodyFailed = false
    const body = source === null ? null : relayBody(source, async () => {
      bodyFailed = true
      await fetch(`${worker.url}${BODY_FAILED_PATH}${id}`, { method: 'POST' })
        .then((response) => response.body?.cancel())
        .catch(() => {})
    })
    const ticket = worker.begin()
    let upstream: Response
    try {
      upstream = await fetch(`${worker.url}${path}`, {
        method: request.method,
        headers: workerHeaders(request.headers, id),
        body,
        redirect: 'manual',
      })
    } catch {
      ticket.end()
      // The client's body failed and the answer with it: the client's fault, not the worker's.
      if (bodyFailed) {
        return errorResponse(
          400,
          'invalid_request',
          'The request body ended before it was complete',
        )
      }
      return await failure(worker, this.#spawn.log)
    }
    const init = {
      status: upstream.status,
      statusText: upstream.statusText,
      headers: withoutHopByHop(upstream.headers),
    }
    const nullBody = [101, 204, 205, 304].includes(upstream.status) || request.method === 'HEAD'
    if (nullBody || upstream.body === null) {
      await upstream.body?.cancel()
      ticket.end()
      return new Response(null, init)
    }
    // An answer of known, modest size is passed on whole: a client that closed its side early
    // (a body cut short) still gets it, where Deno's server may drop a streamed one after its
    // head.
    if (Number(upstream.headers.get('content-length') ?? Infinity) <= BUFFERED_MAX_BYTES) {
      let bytes: ArrayBuffer
      try {
        bytes = await upstream.arrayBuffer()
      } catch {
        ticket.end()
        return await failure(worker, this.#spawn.log)
      }
      ticket.end()
      return new Response(bytes, init)
    }
    // The request is in flight, for the CPU limits, until its answer is streamed.
    return new Response(endsWith(upstream.body, () => ticket.end()), init)
  }

  /**
   * Stops every worker of the function; requests in flight get a moment to finish.
   *
   * @param graceMs how long before SIGKILL
   */
  async stop(graceMs?: number): Promise<void> {
    this.#stopped = true
    await this.#booting?.catch(() => {})
    await Promise.all(this.workers.map((worker) => worker.stop(graceMs)))
  }

  #worker(): Promise<WorkerProcess> {
    const current = this.#current
    if (current?.running && !current.retiring) return Promise.resolve(current)
    this.#booting ??= this.#boot().finally(() => (this.#booting = null))
    return this.#booting
  }

  async #boot(): Promise<WorkerProcess> {
    if (this.#stopped) throw new Error(`${this.name}: the host is stopping`)
    const started = performance.now()
    const worker = await WorkerProcess.boot(this.name, this.#entrypoint, this.#spawn)
    this.#workers.add(worker)
    worker.onRetire(() => {
      if (this.#current === worker) this.#current = null
    })
    worker.ended.then((reason) => {
      this.#workers.delete(worker)
      if (this.#current === worker) this.#current = null
      if (reason !== 'stopped') {
        this.#spawn.log(`${this.name} (pid ${worker.pid}): worker ended: ${describe(reason)}`)
      }
    })
    if (this.#stopped) {
      await worker.stop()
      throw new Error(`${this.name}: the host is stopping`)
    }
    this.#current = worker
    this.#spawn.log(
      `${this.name}: booted a worker (pid ${worker.pid}) in ${
        Math.round(performance.now() - started)
      } ms`,
    )
    return worker
  }
}

/** A request the worker did not answer: why, once its exit says so. */
async function failure(
  worker: WorkerProcess,
  log: (message: string) => void,
): Promise<Response> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const reason = await Promise.race([
    worker.ended,
    new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), EXIT_WAIT_MS))),
  ]).finally(() => clearTimeout(timer))
  if (reason === 'memory' || reason === 'cpu') return platformError('WORKER_LIMIT')
  if (reason === 'stopped') return unavailable()
  // A crash, or a worker still running that dropped the connection (it keeps serving).
  if (reason === null) {
    log(`${worker.name} (pid ${worker.pid}): dropped a request without an answer`)
  }
  return platformError('WORKER_ERROR')
}

/** The host is stopping: what the gateway answers while it does not run. */
function unavailable(): Response {
  return errorResponse(503, 'functions_unavailable', 'The functions host is not running', {
    'Retry-After': '1',
  })
}

function platformError(code: keyof typeof platformErrors): Response {
  const [status, message] = platformErrors[code]
  return jsonResponse(status, { code, message }, { 'sb-error-code': code })
}

function describe(reason: WorkerEnd): string {
  switch (reason) {
    case 'memory':
      return 'memory limit exceeded'
    case 'cpu':
      return 'CPU time limit exceeded'
    case 'boot':
      return 'boot failed'
    case 'crash':
      return 'exited unexpectedly'
    case 'stopped':
      return 'stopped'
  }
}

/**
 * The headers a function gets: the client's, without hop-by-hop headers, `Host`, `sb-api-key`
 * and any spelling of the host's own; an uncompressed answer asked for (Deno's fetch decodes a
 * compressed answer but keeps its Content-Encoding; the host's own server compresses for its
 * client). With a body, the request id and the client's `Content-Length` (the body is relayed
 * chunked, see `worker_protocol.ts`).
 */
function workerHeaders(incoming: Headers, id: string | null): Headers {
  const headers = withoutHopByHop(incoming)
  for (const name of [...headers.keys()]) {
    if (name.startsWith(PRIVATE_HEADER_PREFIX)) headers.delete(name)
  }
  headers.delete('host')
  // The gateway's role JWT for the request's `apikey`: the runtime deletes it before a function.
  headers.delete(SB_API_KEY_HEADER)
  headers.set('Accept-Encoding', 'identity')
  if (id !== null) {
    headers.set(REQUEST_ID_HEADER, id)
    const length = headers.get('content-length')
    headers.delete('content-length')
    if (length !== null) headers.set(CONTENT_LENGTH_HEADER, length)
  }
  return headers
}

/** The same bytes, calling `done` once when they are all read, fail or are cancelled. */
function endsWith(
  body: ReadableStream<Uint8Array>,
  done: () => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader()
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done: finished, value } = await reader.read()
        if (finished) {
          done()
          controller.close()
        } else {
          controller.enqueue(value)
        }
      } catch (err) {
        done()
        controller.error(err)
      }
    },
    cancel(reason) {
      done()
      return reader.cancel(reason)
    },
  })
}
