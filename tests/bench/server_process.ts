/**
 * A server under test in its own Deno process (`deno serve`), so no two cases share a heap or JIT
 * state, with a clean environment: only what the case is given, plus what Deno needs to find its
 * cache. Network permission is loopback only.
 *
 * @module
 */
import { join } from 'node:path'
import { freePort } from '../../supabase/local/ports.ts'
import { repoRoot } from '../../supabase/local/paths.ts'
import { terminate } from '../../supabase/local/processes.ts'

/** A running server process. */
export interface ServerProcess {
  readonly pid: number
  /** Base URL on 127.0.0.1. */
  readonly url: string
  /** Resident set size now, in MiB (Linux), or null. */
  rssMiB(): number | null
  /** CPU time used so far, user + system, all threads, in seconds (Linux), or null. */
  cpuSeconds(): number | null
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process is reaped. */
  stop(): Promise<void>
  /** The last lines of its output, for error messages. */
  logTail(): string
}

const RUNTIME_VARIABLES = ['HOME', 'PATH', 'TMPDIR', 'DENO_DIR', 'NPM_CONFIG_REGISTRY', 'NO_COLOR']

/**
 * Spawns `deno serve` on a free loopback port.
 *
 * @param entry the module, relative to the repository root
 * @param env the server's environment
 * @param logDir where its output goes
 * @param options another Deno binary (default this one), extra `deno serve` flags (e.g.
 *   `--inspect=127.0.0.1:<port>`)
 * @returns the process (not yet necessarily listening)
 */
export function spawnServer(
  entry: string,
  env: Record<string, string>,
  logDir: string,
  options: { deno?: string; denoArgs?: string[] } = {},
): ServerProcess {
  const { deno = Deno.execPath(), denoArgs = [] } = options
  const port = freePort()
  const runtime: Record<string, string> = {}
  for (const name of RUNTIME_VARIABLES) {
    const value = Deno.env.get(name)
    if (value !== undefined) runtime[name] = value
  }
  const logFile = join(logDir, `server-${port}.log`)
  const log = Deno.openSync(logFile, { create: true, write: true, truncate: true })
  const child = new Deno.Command(deno, {
    args: [
      'serve',
      '--allow-net=127.0.0.1',
      '--allow-env',
      '--allow-read',
      '--allow-sys',
      ...denoArgs,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      entry,
    ],
    cwd: repoRoot,
    clearEnv: true,
    env: { ...runtime, ...env },
    stdin: 'null',
    stdout: 'piped',
    stderr: 'piped',
  }).spawn()
  const drained = Promise.all([
    child.stdout.pipeTo(log.writable, { preventClose: true }),
    child.stderr.pipeTo(log.writable, { preventClose: true }),
  ]).catch(() => {})
  let exited = false
  const status = child.status.then(async (s) => {
    exited = true
    await drained
    log.close()
    return s
  })
  return {
    pid: child.pid,
    url: `http://127.0.0.1:${port}`,
    rssMiB() {
      try {
        const match = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${child.pid}/status`))
        return match ? Number(match[1]) / 1024 : null
      } catch {
        return null
      }
    },
    cpuSeconds: () => processCpuSeconds(child.pid, 'self'),
    async stop() {
      if (!exited) await terminate(child, status, 5_000)
      await status
    },
    logTail() {
      try {
        return Deno.readTextFileSync(logFile).trimEnd().split('\n').slice(-20).join('\n')
      } catch {
        return ''
      }
    },
  }
}

// Linux's USER_HZ: /proc reports CPU times in these ticks.
const TICKS_PER_SECOND = 100

/**
 * CPU time of a process from `/proc/<pid>/stat`: its own (`self`, all threads), or that of its
 * children it has waited for (`children`, e.g. a finished wrk).
 *
 * @param pid the process (`Deno.pid` for this one)
 * @param which its own time or its reaped children's
 * @returns seconds of user + system time, or null where there is no /proc
 */
export function processCpuSeconds(pid: number, which: 'self' | 'children'): number | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`)
    // The command name may contain spaces and parentheses: fields are counted after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // utime, stime, cutime, cstime are fields 14 to 17 of the line, 12 to 15 after the name.
    const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number)
    const ticks = which === 'self' ? utime! + stime! : cutime! + cstime!
    return ticks / TICKS_PER_SECOND
  } catch {
    return null
  }
}

/**
 * Busy CPU time of the whole machine, all cores, from `/proc/stat`: what every process and the
 * kernel used, so a row can show how much went to neither the server nor wrk.
 *
 * @returns seconds of non-idle time summed over cores, or null where there is no /proc
 */
export function machineBusySeconds(): number | null {
  try {
    const line = Deno.readTextFileSync('/proc/stat').split('\n', 1)[0]!
    // cpu user nice system idle iowait irq softirq steal ...
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1)
      .map(Number)
    return (user! + nice! + system! + irq! + softirq! + steal!) / TICKS_PER_SECOND
  } catch {
    return null
  }
}

/**
 * Polls `GET url` until it answers 200, as fast as a refused connection allows.
 *
 * @param url what to request
 * @param headers request headers (e.g. the bearer token)
 * @param timeoutMs give up after this long
 * @returns milliseconds from the call to the first 200
 * @throws Error on timeout, with the last status or error
 */
export async function waitFor200(
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<number> {
  const started = performance.now()
  let last = 'no answer'
  while (performance.now() - started < timeoutMs) {
    try {
      const response = await fetch(url, { headers })
      await response.body?.cancel()
      if (response.status === 200) return performance.now() - started
      last = `status ${response.status}`
    } catch (error) {
      last = (error as Error).name
    }
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (${last})`)
}
