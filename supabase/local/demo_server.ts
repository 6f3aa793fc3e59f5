/**
 * The browser demo of the session lifecycle: a small static page (`supabase/local/demo/`) on its
 * own loopback port, so it is a different origin than the gateway and every call it makes to the
 * functions is a real cross-origin request with CORS preflights. Hosted Edge Functions serve HTML
 * as plain text, which is why the stack serves the page and not a function.
 *
 * The page learns where the API is from `/config.json`: the gateway URL, the publishable key
 * (public by design) and the demo user's credentials when the stack created one. Never a secret
 * key.
 *
 * @module
 */
import { join } from 'node:path'
import { consentPath } from './oauth_server.ts'
import { repoRoot } from './paths.ts'

/** What `/config.json` tells the page. */
export interface DemoConfig {
  /** The gateway, the project URL (`SUPABASE_URL`). */
  apiUrl: string
  /** `${apiUrl}/functions/v1`. */
  functionsUrl: string
  /** Sent as `apikey`, as supabase-js does. */
  publishableKey: string
  /** Prefilled in the login form; null when the stack has no demo user. */
  demoUser: { email: string; password: string } | null
}

/** Options for {@linkcode startDemoServer}. */
export interface DemoServerOptions {
  /** 0 picks a free port. */
  port: number
  /** Read on every request (the demo user appears once the stack has created it). */
  config: () => DemoConfig
  /** The page's files; default `supabase/local/demo/` of this repository. */
  dir?: string
}

/** A running demo server. */
export interface DemoServer {
  readonly port: number
  /** `http://127.0.0.1:<port>`. */
  readonly url: string
  shutdown(): Promise<void>
}

/**
 * supabase-js for the consent page: the browser build of the pinned package, from Deno's npm
 * cache (no CDN: the page's CSP allows only its own scripts, and the machine may be offline).
 */
const supabaseUmd = new URL('./umd/supabase.js', import.meta.resolve('@supabase/supabase-js'))

/**
 * The only files served: a fixed list, so no path from the request ever reaches the disk. A name
 * is in the page's directory; a URL is a file of its own.
 */
const files: Readonly<Record<string, { file: string | URL; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/demo.js': { file: 'demo.js', type: 'text/javascript; charset=utf-8' },
  '/demo.css': { file: 'demo.css', type: 'text/css; charset=utf-8' },
  [consentPath]: { file: 'consent.html', type: 'text/html; charset=utf-8' },
  '/consent.js': { file: 'consent.js', type: 'text/javascript; charset=utf-8' },
  '/vendor/supabase.js': { file: supabaseUmd, type: 'text/javascript; charset=utf-8' },
}

/**
 * Starts the demo server on 127.0.0.1.
 *
 * @param options port, configuration and the page's directory
 * @returns the running server
 */
export function startDemoServer(options: DemoServerOptions): DemoServer {
  const dir = options.dir ?? join(repoRoot, 'supabase', 'local', 'demo')
  const server: Deno.HttpServer<Deno.NetAddr> = Deno.serve(
    { hostname: '127.0.0.1', port: options.port, onListen: () => {} },
    (request) => serveDemo(request, dir, options.config()),
  )
  const port = server.addr.port
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    async shutdown() {
      await server.shutdown()
    },
  }
}

async function serveDemo(request: Request, dir: string, config: DemoConfig): Promise<Response> {
  const path = new URL(request.url).pathname
  const headers = pageHeaders(config)
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return text(405, 'Method not allowed', { ...headers, Allow: 'GET, HEAD' })
  }
  const head = request.method === 'HEAD'
  if (path === '/config.json') {
    const body = JSON.stringify(config, null, 2)
    return new Response(head ? null : body, {
      headers: { ...headers, 'Content-Type': 'application/json' },
    })
  }
  const entry = files[path]
  if (!entry) return text(404, 'Not found', headers)
  // Read per request, so an edit to the page shows on reload without restarting the stack.
  const file = entry.file instanceof URL ? entry.file : join(dir, entry.file)
  const body = await Deno.readFile(file)
  return new Response(head ? null : body, { headers: { ...headers, 'Content-Type': entry.type } })
}

/**
 * Every answer's headers. The Content-Security-Policy lets the page run only its own script and
 * talk only to itself and the gateway, which also shows a reader which origin the calls go to.
 */
function pageHeaders(config: DemoConfig): Record<string, string> {
  const api = new URL(config.apiUrl).origin
  return {
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Content-Security-Policy': [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      `connect-src 'self' ${api}`,
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
  }
}

function text(status: number, body: string, headers: Record<string, string>): Response {
  return new Response(body, {
    status,
    headers: { ...headers, 'Content-Type': 'text/plain; charset=utf-8' },
  })
}
