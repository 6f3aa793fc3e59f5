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

/** Starts `handler` on 127.0.0.1 at a free port. */
export function startLocalServer(
  handler: (request: Request) => Response | Promise<Response>,
): LocalServer {
  const requests: Request[] = []
  const server = Deno.serve({ hostname: '127.0.0.1', port: 0, onListen() {} }, (request) => {
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
