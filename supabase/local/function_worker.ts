/**
 * One function's isolate: the process the functions host starts for `functions/<name>/index.ts`
 * on the function's first request, as the edge runtime boots a user worker. It imports the
 * entrypoint (the boot, where a function opens its database connection), serves its default
 * export on a free loopback port and prints that port (`worker_protocol.ts`), ends itself when
 * V8 heap plus ArrayBuffers reach the memory limit (the runtime's own measure; the V8 heap is
 * also capped by `--max-heap-size`, so an allocation in a loop that never yields ends it too),
 * and exits when the host goes away.
 *
 * Usage: deno run --allow-all --config deno.json --v8-flags=--max-heap-size=<MiB>
 *          supabase/local/function_worker.ts --entrypoint=<index.ts> --memory-mb=<MiB>
 *
 * @module
 */
import { pathToFileURL } from 'node:url'
import { RelayedBodies } from './relayed_body.ts'
import { errorResponse, jsonResponse } from './responses.ts'
import { BODY_FAILED_PATH, LISTENING_PREFIX, MEMORY_PATH, WorkerExit } from './worker_protocol.ts'

type FetchHandler = (request: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>

/** How often the memory is measured: a check costs microseconds. */
const MEMORY_CHECK_MS = 100

function argument(name: string): string {
  const flag = `--${name}=`
  const value = Deno.args.find((arg) => arg.startsWith(flag))?.slice(flag.length)
  if (!value) throw new Error(`function_worker.ts: missing --${name}=`)
  return value
}

async function boot(entrypoint: string): Promise<{ fetch: FetchHandler }> {
  try {
    const module = await import(pathToFileURL(entrypoint).href)
    const handler = module.default
    if (typeof handler?.fetch !== 'function') {
      throw new TypeError('the default export has no fetch(request) method')
    }
    return handler
  } catch (err) {
    // The message only: a configuration error must not put environment values in the log.
    const message = err instanceof Error ? err.message : String(err)
    console.error(`failed to boot: ${message}`)
    Deno.exit(WorkerExit.bootFailed)
  }
}

function watchMemory(limitMb: number): void {
  const limit = limitMb * 1024 * 1024
  const mib = (bytes: number) => Math.round(bytes / 1024 / 1024)
  setInterval(() => {
    const { heapUsed, external } = Deno.memoryUsage()
    if (heapUsed + external < limit) return
    console.error(
      `memory limit exceeded: ${mib(heapUsed)} MiB heap + ${mib(external)} MiB external ` +
        `>= ${limitMb} MiB`,
    )
    Deno.exit(WorkerExit.memoryLimit)
  }, MEMORY_CHECK_MS)
}

async function exitWhenHostGone(): Promise<never> {
  // The host holds our stdin open; EOF means it died without stopping us.
  for await (const _chunk of Deno.stdin.readable) {
    // Nothing is ever written; keep reading until EOF.
  }
  Deno.exit(WorkerExit.stopped)
}

if (import.meta.main) {
  const handler = await boot(argument('entrypoint'))
  watchMemory(Number(argument('memory-mb')))
  const bodies = new RelayedBodies()
  const server = Deno.serve({
    hostname: '127.0.0.1',
    port: 0,
    onListen: ({ port }) => console.log(`${LISTENING_PREFIX}${port}`),
  }, async (request, info) => {
    const path = new URL(request.url).pathname
    if (request.method === 'GET' && path === MEMORY_PATH) {
      return jsonResponse(200, { pid: Deno.pid, ...Deno.memoryUsage() })
    }
    if (request.method === 'POST' && path.startsWith(BODY_FAILED_PATH)) {
      bodies.fail(path.slice(BODY_FAILED_PATH.length))
      return new Response(null, { status: 204 })
    }
    const relayed = bodies.restore(request)
    try {
      return await handler.fetch(relayed.request, info)
    } catch (err) {
      console.error(`unhandled error: ${(err as Error)?.message}`)
      return errorResponse(500, 'internal_error', 'Internal server error')
    } finally {
      await relayed.done()
    }
  })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    Deno.addSignalListener(signal, () => {
      // In-flight requests get a moment to finish; a hung handler must not block the stop.
      setTimeout(() => Deno.exit(WorkerExit.stopped), 2_000)
      server.shutdown().then(() => Deno.exit(WorkerExit.stopped))
    })
  }
  if (!Deno.stdin.isTerminal()) exitWhenHostGone()
}
