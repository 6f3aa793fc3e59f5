/**
 * The benchmark's `SUPABASE_URL`: a loopback proxy in front of the real auth server that counts
 * what each server under test asks of it (JWKS fetches, `/user` calls), so the report can show
 * that edge-auth fetches the key set once while some peers fetch it, or call the auth server, on
 * every request. It forwards `/auth/v1/*` straight to the auth server, one hop like Supabase's
 * gateway.
 *
 * @module
 */

/** Requests seen since the last reset. */
export interface ProxyCounts {
  jwks: number
  user: number
  other: number
}

/** A running counting proxy. */
export interface CountingProxy {
  /** Base URL, e.g. `http://127.0.0.1:40123`: use it as `SUPABASE_URL`. */
  readonly url: string
  /** Counts since the last {@linkcode CountingProxy.reset}. */
  counts(): ProxyCounts
  reset(): void
  close(): Promise<void>
}

const JWKS_PATH = '/.well-known/jwks.json'

/**
 * Starts the proxy.
 *
 * @param authUrl the auth server's own base URL (e.g. `http://127.0.0.1:<auth port>`)
 * @returns the proxy
 */
export function startCountingProxy(authUrl: string): CountingProxy {
  let counts: ProxyCounts = { jwks: 0, user: 0, other: 0 }
  const server = Deno.serve(
    { hostname: '127.0.0.1', port: 0, onListen() {} },
    async (request) => {
      const url = new URL(request.url)
      if (!url.pathname.startsWith('/auth/v1/')) return new Response('not found', { status: 404 })
      const rest = url.pathname.slice('/auth/v1'.length)
      if (rest === JWKS_PATH) counts.jwks++
      else if (rest === '/user') counts.user++
      else counts.other++
      const headers = new Headers(request.headers)
      headers.delete('host')
      // Deno's fetch would decompress a compressed answer and leave Content-Encoding in place.
      headers.set('accept-encoding', 'identity')
      const upstream = await fetch(`${authUrl}${rest}${url.search}`, {
        method: request.method,
        headers,
        body: request.body,
        redirect: 'manual',
      })
      return new Response(upstream.body, { status: upstream.status, headers: upstream.headers })
    },
  )
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    counts: () => ({ ...counts }),
    reset() {
      counts = { jwks: 0, user: 0, other: 0 }
    },
    close: () => server.shutdown(),
  }
}
