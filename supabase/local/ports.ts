/**
 * Port checks for the local stack. Every listener binds 127.0.0.1 only, so that is the address we
 * probe.
 *
 * @module
 */
import { delay } from './processes.ts'

/** A port the stack wants to bind, with the variable that overrides it. */
export interface PortClaim {
  /** What listens there, for the error message. */
  name: string
  port: number
  /** The environment variable that moves it, if any. */
  envName?: string
}

/**
 * Fails fast, with a message naming the culprit, when any of the ports is taken. The probe binds
 * without SO_REUSEPORT, so it also fails against a stale auth server (which binds with
 * SO_REUSEPORT and would otherwise silently share the port with a new one).
 *
 * @param claims the ports to check
 * @throws Error naming the first port in use
 */
export function assertPortsFree(claims: PortClaim[]): void {
  for (const claim of claims) {
    if (!portFree(claim.port)) {
      const hint = claim.envName ? `; stop whatever listens there or set ${claim.envName}` : ''
      throw new Error(
        `Cannot start the local stack: port ${claim.port} (${claim.name}) on 127.0.0.1 is already in use${hint}`,
      )
    }
  }
}

/**
 * Whether a TCP port on 127.0.0.1 can be bound right now.
 *
 * @param port the port
 * @returns true when free
 */
export function portFree(port: number): boolean {
  try {
    const listener = Deno.listen({ hostname: '127.0.0.1', port })
    listener.close()
    return true
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) return false
    throw err
  }
}

/**
 * A port that was free a moment ago, for a listener the caller starts soon after. It comes from
 * below the kernel's ephemeral range (`net.ipv4.ip_local_port_range`, 32768–60999 by default),
 * where every outgoing connection takes its source port and every `port: 0` bind lands: a port the
 * kernel picked there and we released can be taken by any connection of any process before the
 * listener binds it (seen as `AddrInUse` on a test stack's demo page). Below that range only a
 * deliberate bind can take it, and this process never hands out the same port twice.
 *
 * @returns the port number
 */
export function freePort(): number {
  const [first, last] = reservable ??= [10_000, ephemeralRangeStart() - 1]
  for (let attempt = 0; attempt < 1_000 && last > first; attempt++) {
    const port = first + Math.floor(Math.random() * (last - first + 1))
    if (handedOut.has(port) || !portFree(port)) continue
    handedOut.add(port)
    return port
  }
  // No room below the ephemeral range on this machine: the kernel's pick, as before.
  const listener = Deno.listen({ hostname: '127.0.0.1', port: 0 })
  const port = (listener.addr as Deno.NetAddr).port
  listener.close()
  return port
}

const handedOut = new Set<number>()

// Ports freePort picks from: from 10000 up to the kernel's first ephemeral port, read on the first
// call rather than when this module loads (most importers never ask for a port).
let reservable: readonly [number, number] | undefined

function ephemeralRangeStart(): number {
  try {
    const text = Deno.readTextFileSync('/proc/sys/net/ipv4/ip_local_port_range')
    const start = Number(text.trim().split(/\s+/)[0])
    return Number.isInteger(start) && start > 0 ? start : 32_768
  } catch {
    // Not Linux, or not allowed to read it: Linux's default.
    return 32_768
  }
}

/** Options for {@linkcode waitForHttp}. */
export interface WaitForHttpOptions {
  timeoutMs: number
  /** Checked between attempts; when it returns false the wait stops early. */
  alive?: () => boolean
  /** What we are waiting for, for the error message. */
  name: string
}

/**
 * Polls a URL until it answers 200.
 *
 * @param url the URL
 * @param options timeout, liveness check and a name for errors
 * @throws Error on timeout or when `alive()` turns false
 */
export async function waitForHttp(url: string, options: WaitForHttpOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs
  while (true) {
    if (options.alive && !options.alive()) throw new Error(`${options.name} exited during start-up`)
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) })
      await response.body?.cancel()
      if (response.status === 200) return
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      throw new Error(`${options.name} did not become ready within ${options.timeoutMs / 1000}s`)
    }
    await delay(100)
  }
}
