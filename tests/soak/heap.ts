/**
 * A functions host of the soak's own, started with the V8 inspector on loopback, so the soak can
 * read the JavaScript heap *after a forced garbage collection*: unlike the process's RSS, which
 * grows with whatever heap V8 chooses to keep, that figure shows what the instance really holds
 * (the token and session caches, bounded by their sizes).
 *
 * @module
 */
import { join } from 'node:path'
import { functionsEnvironment } from '../../supabase/local/functions_process.ts'
import { repoRoot } from '../../supabase/local/paths.ts'
import { freePort, waitForHttp } from '../../supabase/local/ports.ts'
import type { TestStack } from '../_helpers/stack.ts'

/** A running inspected functions host. */
export interface InspectedHost {
  /** Base of its functions, e.g. `http://127.0.0.1:40123/functions/v1`. */
  functionsUrl: string
  pid: number
  /** Forces a full garbage collection in the host, then returns the heap in use, in bytes. */
  heapAfterGc(): Promise<number>
  stop(): Promise<void>
}

/**
 * Starts the repository's functions with the stack's environment (its gateway, keys and
 * database) plus `extra`, with the inspector on a free loopback port.
 *
 * @param stack the stack the functions talk to
 * @param extra more variables, e.g. `EDGE_AUTH_TOKEN_CACHE_SIZE`
 * @returns the host; stop it at the end
 */
export async function startInspectedHost(
  stack: TestStack,
  extra: Record<string, string> = {},
): Promise<InspectedHost> {
  const port = freePort()
  const inspector = freePort()
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      'run',
      '--allow-all',
      `--inspect=127.0.0.1:${inspector}`,
      '--config',
      join(repoRoot, 'deno.json'),
      join(repoRoot, 'supabase', 'local', 'functions_host.ts'),
      `--port=${port}`,
      `--functions-dir=${join(repoRoot, 'functions')}`,
    ],
    env: functionsEnvironment({
      gatewayPort: stack.ports.gateway,
      dbUrl: stack.functionsDbUrl,
      keys: stack,
      jwks: await (await fetch(stack.jwksUrl)).json(),
      extra,
    }),
    // The host exits when its stdin closes (its supervisor died).
    stdin: 'piped',
    stdout: 'null',
    stderr: 'null',
  }).spawn()
  let socket: WebSocket | null = null
  try {
    await waitForHttp(`http://127.0.0.1:${port}/_host/health`, {
      timeoutMs: 60_000,
      name: 'The inspected functions host',
    })
    const [target] = await (await fetch(`http://127.0.0.1:${inspector}/json/list`)).json()
    socket = new WebSocket(target.webSocketDebuggerUrl)
    await new Promise((resolve, reject) => {
      socket!.onopen = resolve
      socket!.onerror = reject
    })
  } catch (err) {
    child.kill('SIGKILL')
    await child.status
    throw err
  }
  const ws = socket
  let nextId = 0
  const waiting = new Map<number, (result: Record<string, number>) => void>()
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data)
    waiting.get(message.id)?.(message.result)
    waiting.delete(message.id)
  }
  const call = (method: string) =>
    new Promise<Record<string, number>>((resolve) => {
      const id = ++nextId
      waiting.set(id, resolve)
      ws.send(JSON.stringify({ id, method }))
    })
  return {
    functionsUrl: `http://127.0.0.1:${port}/functions/v1`,
    pid: child.pid,
    async heapAfterGc() {
      await call('HeapProfiler.collectGarbage')
      return (await call('Runtime.getHeapUsage')).usedSize!
    },
    async stop() {
      ws.close()
      child.kill('SIGTERM')
      await child.status
    },
  }
}
