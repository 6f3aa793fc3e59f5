/**
 * One benchmark server, chosen by `BENCH_SERVER`, run by the benchmark in its own process:
 *
 *   BENCH_SERVER=ours-token deno serve --host 127.0.0.1 --port <port> tests/bench/server.ts
 *
 * Each server's modules are imported only when chosen, so a process holds one variant's code.
 *
 * @module
 */
import type { FetchHandler } from './apps_ours.ts'

/** The server names `BENCH_SERVER` accepts. */
export const SERVER_NAMES = [
  'trivial',
  'hono',
  'hono-headers',
  'factory',
  'factory-header',
  'factory-lookup',
  'ours-token',
  'ours-check',
  'jose',
  'supabase-server',
  'hono-jwk-uri',
  'hono-jwk-keys',
  'get-claims',
  'get-user',
] as const

/** A name of {@linkcode SERVER_NAMES}. */
export type ServerName = typeof SERVER_NAMES[number]

/**
 * Builds the handler of a server.
 *
 * @param name which server
 * @returns its fetch handler
 */
export async function buildHandler(name: ServerName): Promise<FetchHandler> {
  switch (name) {
    case 'trivial':
      return (await import('./apps_ours.ts')).trivialHandler()
    case 'hono':
      return (await import('./apps_ours.ts')).honoBaseline()
    case 'hono-headers':
      return (await import('./apps_ours.ts')).honoWithHeaders()
    case 'factory':
      return (await import('./apps_ours.ts')).factoryBaseline()
    case 'factory-header':
      return (await import('./apps_ours.ts')).factoryReadingHeader()
    case 'factory-lookup':
      return (await import('./apps_ours.ts')).factoryLookingUp()
    case 'ours-token':
      return (await import('./apps_ours.ts')).oursHandler('token')
    case 'ours-check':
      return (await import('./apps_ours.ts')).oursHandler('check')
    case 'jose':
      return (await import('./apps_jose.ts')).joseHandler()
    case 'supabase-server':
      return (await import('./apps_supabase_server.ts')).supabaseServerHandler()
    case 'hono-jwk-uri':
      return (await import('./apps_peers.ts')).honoJwkHandler('uri')
    case 'hono-jwk-keys':
      return (await import('./apps_peers.ts')).honoJwkHandler('keys')
    case 'get-claims':
      return (await import('./apps_peers.ts')).supabaseJsHandler('getClaims')
    case 'get-user':
      return (await import('./apps_peers.ts')).supabaseJsHandler('getUser')
  }
}

const name = Deno.env.get('BENCH_SERVER') as ServerName | undefined
if (!name || !SERVER_NAMES.includes(name)) {
  throw new Error(`BENCH_SERVER must be one of ${SERVER_NAMES.join(', ')}`)
}

export default { fetch: await buildHandler(name) } satisfies Deno.ServeDefaultExport
