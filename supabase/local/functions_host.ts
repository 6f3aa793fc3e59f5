/**
 * The functions host: a child Deno process (started by `functions_process.ts`) that serves every
 * `functions/<name>/index.ts` the way the Supabase Edge Runtime does. Each entrypoint is imported
 * once and must `export default` an object with `fetch` (a Hono app with `basePath('/<name>')`);
 * `/functions/v1/<name>/rest` reaches it as a request for `/<name>/rest`.
 *
 * Usage: deno run --allow-all --config deno.json supabase/local/functions_host.ts
 *          --port=<port> --functions-dir=<dir>
 *
 * @module
 */
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { errorResponse, jsonResponse } from './responses.ts'

type FetchHandler = (request: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>

/** A loaded function, or why it could not be loaded. */
type Loaded = { handler: { fetch: FetchHandler }; error?: undefined } | { error: string }

/** Function directory names: `_shared` and other `_`/`.` folders are libraries, not functions. */
const functionName = /^[A-Za-z0-9][A-Za-z0-9_-]*$/
const prefix = '/functions/v1/'

/** Options for {@linkcode serveFunctions}. */
export interface ServeFunctionsOptions {
  port: number
  functionsDir: string
}

/**
 * Imports every function and serves them on 127.0.0.1 until the process ends.
 *
 * @param options port and functions directory
 * @returns the server
 */
export async function serveFunctions(options: ServeFunctionsOptions): Promise<Deno.HttpServer> {
  const loaded = new Map<string, Promise<Loaded>>()
  for (const name of discover(options.functionsDir)) {
    loaded.set(name, load(options.functionsDir, name))
  }
  await Promise.all(loaded.values())

  return Deno.serve(
    { hostname: '127.0.0.1', port: options.port, onListen: () => {} },
    async (request, info) => {
      const url = new URL(request.url)
      if (url.pathname === '/_host/health') {
        const names = [...loaded.keys()].sort()
        return jsonResponse(200, { functions: names })
      }
      if (!url.pathname.startsWith(prefix)) {
        return errorResponse(404, 'not_found', 'No route matches this path')
      }
      const remainder = url.pathname.slice(prefix.length)
      const slash = remainder.indexOf('/')
      const name = slash === -1 ? remainder : remainder.slice(0, slash)
      const rest = slash === -1 ? '' : remainder.slice(slash)
      let entry = loaded.get(name)
      if (!entry && functionName.test(name) && exists(entrypoint(options.functionsDir, name))) {
        // Created after start-up: load it now rather than requiring a restart.
        entry = load(options.functionsDir, name)
        loaded.set(name, entry)
      }
      if (!entry) return errorResponse(404, 'function_not_found', 'Function not found')
      const fn = await entry
      if (fn.error !== undefined) {
        return errorResponse(500, 'server_misconfigured', 'Server misconfigured')
      }
      // Same method, headers and body; only the URL loses the /functions/v1 prefix.
      const inner = new Request(new URL(`/${name}${rest}${url.search}`, url.origin), {
        method: request.method,
        headers: request.headers,
        body: request.body,
        redirect: 'manual',
      })
      try {
        return await fn.handler.fetch(inner, info)
      } catch (err) {
        console.error(`functions host: ${name}: unhandled error: ${(err as Error)?.message}`)
        return errorResponse(500, 'internal_error', 'Internal server error')
      }
    },
  )
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

async function load(dir: string, name: string): Promise<Loaded> {
  try {
    const module = await import(pathToFileURL(entrypoint(dir, name)).href)
    const handler = module.default
    if (typeof handler?.fetch !== 'function') {
      throw new TypeError('the default export has no fetch(request) method')
    }
    return { handler }
  } catch (err) {
    // The message only: a configuration error must not put environment values in the log.
    const message = err instanceof Error ? err.message : String(err)
    console.error(`functions host: ${name}: failed to load: ${message}`)
    return { error: message }
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

function argument(name: string): string {
  const flag = `--${name}=`
  const value = Deno.args.find((arg) => arg.startsWith(flag))?.slice(flag.length)
  if (!value) throw new Error(`functions_host.ts: missing --${name}=`)
  return value
}

async function exitWhenParentGone(): Promise<never> {
  // The supervisor holds our stdin open; EOF means it died without stopping us.
  for await (const _chunk of Deno.stdin.readable) {
    // Nothing is ever written; keep reading until EOF.
  }
  Deno.exit(0)
}

if (import.meta.main) {
  const server = await serveFunctions({
    port: Number(argument('port')),
    functionsDir: argument('functions-dir'),
  })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    Deno.addSignalListener(signal, () => {
      // In-flight requests get a moment to finish; a hung handler must not block the stop.
      setTimeout(() => Deno.exit(0), 2_000)
      server.shutdown().then(() => Deno.exit(0))
    })
  }
  if (!Deno.stdin.isTerminal()) exitWhenParentGone()
}
