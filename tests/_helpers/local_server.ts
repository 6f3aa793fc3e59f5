/**
 * A throwaway HTTP server on a free loopback port, for faults the real services cannot produce
 * on demand (an auth server that hangs, redirects or rate-limits).
 */
export interface LocalServer {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string
  /** Requests received so far. */
  requests: Request[]
  /** Stops the server. */
  close(): Promise<void>
}

/** Options of {@linkcode startLocalServer}. */
export interface LocalServerOptions {
  /** The port (default 0: a free one), e.g. a {@linkcode closedPort} that should now answer. */
  port?: number
}

/** Starts `handler` on 127.0.0.1 at a free port (or the given one). */
export function startLocalServer(
  handler: (request: Request) => Response | Promise<Response>,
  options: LocalServerOptions = {},
): LocalServer {
  const requests: Request[] = []
  const listen = { hostname: '127.0.0.1', port: options.port ?? 0, onListen() {} }
  const server = Deno.serve(listen, (request) => {
    requests.push(request)
    return handler(request)
  })
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    close: () => server.shutdown(),
  }
}

/** A loopback port with nothing listening on it (connections are refused). */
export function closedPort(): number {
  const listener = Deno.listen({ hostname: '127.0.0.1', port: 0 })
  const port = (listener.addr as Deno.NetAddr).port
  listener.close()
  return port
}
