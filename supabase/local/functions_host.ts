/**
 * The functions host: a child Deno process (started by `functions_process.ts`) that serves every
 * `functions/<name>/index.ts` the way the Supabase edge runtime's main worker does. Each function
 * runs in an isolate of its own, a worker process booted on the function's first request with the
 * runtime's limits (`function_isolate.ts`, `worker_process.ts`, `isolate_limits.ts`) and
 * `SUPABASE_FUNCTION_SLUG` set; `/functions/v1/<name>/rest` reaches it as a request for
 * `/<name>/rest`, without the `sb-api-key` header. The entrypoint must `export default` an object
 * with `fetch` (a Hono app with `basePath('/<name>')`). A function created after start-up is found
 * on its first request.
 *
 * `GET /_host/health` lists the functions; `GET /_host/workers` lists the live workers with their
 * pid and memory.
 *
 * Usage: deno run --allow-all --config deno.json supabase/local/functions_host.ts
 *          --port=<port> --functions-dir=<dir> [--config=<deno.json>] [--no-lock]
 *
 * `--config` and `--no-lock` are for the workers (default: the project's `deno.json`, with its
 * lockfile).
 *
 * @module
 */
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { FunctionIsolate } from './function_isolate.ts'
import { edgeRuntimeLimits, type IsolateLimits } from './isolate_limits.ts'
import { errorResponse, jsonResponse } from './responses.ts'

/** Function directory names: `_shared` and other `_`/`.` folders are libraries, not functions. */
const functionName = /^[A-Za-z0-9][A-Za-z0-9_-]*$/
const prefix = '/functions/v1/'
const projectConfig = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'deno.json')

/** Options for {@linkcode serveFunctions}. */
export interface ServeFunctionsOptions {
  port: number
  functionsDir: string
  /** The import map's `deno.json` for the workers (default: the project's). */
  config?: string
  /** Run the workers without a lockfile (another Deno than the project's). */
  noLock?: boolean
  /** Each isolate's limits (default: the edge runtime's). */
  limits?: IsolateLimits
  /** How long a worker's boot may take (default 120 s: the first may download npm packages). */
  bootTimeoutMs?: number
}

/** A running functions host. */
export interface FunctionsServer {
  readonly port: number
  /**
   * Stops listening (requests in flight get up to 2 s), then every worker.
   *
   * @returns when every worker has exited
   */
  shutdown(): Promise<void>
}

/**
 * Serves the functions on 127.0.0.1 until {@linkcode FunctionsServer.shutdown}. Nothing boots
 * before a function's first request.
 *
 * @param options port, functions directory, workers' configuration and limits
 * @returns the server
 */
export function serveFunctions(options: ServeFunctionsOptions): FunctionsServer {
  const known = new Set(discover(options.functionsDir))
  const isolates = new Map<string, FunctionIsolate>()
  const log = (message: string) => console.error(`functions host: ${message}`)
  const spawn = {
    denoArgs: [
      '--config',
      options.config ?? projectConfig,
      ...(options.noLock ? ['--no-lock'] : []),
    ],
    env: Deno.env.toObject(),
    limits: options.limits ?? edgeRuntimeLimits,
    bootTimeoutMs: options.bootTimeoutMs ?? 120_000,
    log,
  }

  const server = Deno.serve(
    { hostname: '127.0.0.1', port: options.port, onListen: () => {} },
    async (request) => {
      const url = new URL(request.url)
      if (url.pathname === '/_host/health') {
        return jsonResponse(200, { functions: [...known].sort() })
      }
      if (url.pathname === '/_host/workers') {
        return jsonResponse(200, { workers: await workerReport(isolates) })
      }
      if (!url.pathname.startsWith(prefix)) {
        return errorResponse(404, 'not_found', 'No route matches this path')
      }
      const remainder = url.pathname.slice(prefix.length)
      const slash = remainder.indexOf('/')
      const name = slash === -1 ? remainder : remainder.slice(0, slash)
      const rest = slash === -1 ? '' : remainder.slice(slash)
      let isolate = isolates.get(name)
      if (!isolate) {
        const entry = entrypoint(options.functionsDir, name)
        // Also a function created after start-up: it boots like any other.
        if (!functionName.test(name) || !exists(entry)) {
          return errorResponse(404, 'function_not_found', 'Function not found')
        }
        known.add(name)
        isolate = new FunctionIsolate(name, entry, spawn)
        isolates.set(name, isolate)
      }
      return await isolate.fetch(request, `/${name}${rest}${url.search}`)
    },
  )

  let stopped: Promise<void> | null = null
  return {
    port: server.addr.port,
    shutdown() {
      stopped ??= (async () => {
        // In-flight requests get a moment to finish; a hung handler must not block the stop.
        let timer: ReturnType<typeof setTimeout> | undefined
        await Promise.race([
          server.shutdown(),
          new Promise((resolve) => (timer = setTimeout(resolve, 2_000))),
        ]).finally(() => clearTimeout(timer))
        await Promise.all([...isolates.values()].map((isolate) => isolate.stop(1_000)))
        await server.finished
      })()
      return stopped
    },
  }
}

async function workerReport(isolates: Map<string, FunctionIsolate>) {
  const workers = [...isolates.values()].flatMap((isolate) => isolate.workers)
  return await Promise.all(workers.map(async (worker) => ({
    name: worker.name,
    pid: worker.pid,
    retiring: worker.retiring,
    inFlight: worker.inFlight,
    memory: await worker.memory(),
  })))
}

function discover(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)]
      .filter((entry) => entry.isDirectory && functionName.test(entry.name))
      .map((entry) => entry.name)
      .filter((name) => exists(entrypoint(dir, name)))
      .sort()
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return []
    throw err
  }
}

function entrypoint(dir: string, name: string): string {
  return join(dir, name, 'index.ts')
}

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile
  } catch {
    return false
  }
}

function argument(name: string, optional?: 'optional'): string | undefined {
  const flag = `--${name}=`
  const value = Deno.args.find((arg) => arg.startsWith(flag))?.slice(flag.length)
  if (!value && !optional) throw new Error(`functions_host.ts: missing --${name}=`)
  return value
}

async function exitWhenParentGone(): Promise<never> {
  // The supervisor holds our stdin open; EOF means it died without stopping us. The workers see
  // their own stdin close when we exit.
  for await (const _chunk of Deno.stdin.readable) {
    // Nothing is ever written; keep reading until EOF.
  }
  Deno.exit(0)
}

if (import.meta.main) {
  const server = serveFunctions({
    port: Number(argument('port')),
    functionsDir: argument('functions-dir')!,
    config: argument('config', 'optional'),
    noLock: Deno.args.includes('--no-lock'),
  })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    Deno.addSignalListener(signal, () => {
      // Within the supervisor's 5 s before SIGKILL; workers still running then exit at EOF.
      setTimeout(() => Deno.exit(0), 4_500)
      server.shutdown().then(() => Deno.exit(0))
    })
  }
  if (!Deno.stdin.isTerminal()) exitWhenParentGone()
}
