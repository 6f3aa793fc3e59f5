/**
 * Child-process helpers for the local stack: one-shot commands, long-running children whose
 * output goes to a log file or a line callback, running PostgreSQL tools as the `postgres` OS user,
 * and liveness checks by pid.
 *
 * @module
 */

/** Output of a finished one-shot command. */
export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

/** Options for {@linkcode runCommand} and {@linkcode spawnManaged}. */
export interface CommandOptions {
  env?: Record<string, string>
  /** Start from an empty environment (only `env` is passed). */
  clearEnv?: boolean
  cwd?: string
}

/**
 * Runs a command to completion and captures its output.
 *
 * @param cmd the program
 * @param args its arguments
 * @param options environment and working directory
 * @returns exit code, stdout and stderr
 * @throws Deno.errors.NotFound when the program does not exist
 */
export async function runCommand(
  cmd: string,
  args: string[],
  options: CommandOptions = {},
): Promise<RunResult> {
  const output = await new Deno.Command(cmd, {
    args,
    env: options.env,
    clearEnv: options.clearEnv,
    cwd: options.cwd,
    stdin: 'null',
    stdout: 'piped',
    stderr: 'piped',
  }).output()
  const decoder = new TextDecoder()
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  }
}

/**
 * Wraps a command so that it runs as the `postgres` OS user when we are root, because `initdb`
 * and `postgres` refuse to run as root. As any other user the command runs unchanged.
 *
 * @param cmd the program
 * @param args its arguments
 * @returns the program and arguments to execute
 */
export function asPostgresUser(cmd: string, args: string[]): [string, string[]] {
  if (Deno.uid() !== 0) return [cmd, args]
  return ['runuser', ['-u', 'postgres', '--', cmd, ...args]]
}

/**
 * Whether a process exists and is not a zombie (Linux `/proc`).
 *
 * @param pid the process id
 * @returns true while the process runs
 */
export function processAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`)
    // The state letter follows the parenthesised command name, which may itself hold spaces.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state !== 'Z' && state !== 'X'
  } catch {
    return false
  }
}

/**
 * The command line of a running process, or `null` when it is gone.
 *
 * @param pid the process id
 * @returns the arguments joined by spaces
 */
export function processCommandLine(pid: number): string | null {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split('\0').join(' ').trim()
  } catch {
    return null
  }
}

/**
 * Sends SIGTERM, waits up to `timeoutMs`, then sends SIGKILL. For processes we did not spawn in
 * this run (stale children of a crashed supervisor).
 *
 * @param pid the process id
 * @param timeoutMs how long to wait for a graceful exit
 */
export async function terminatePid(pid: number, timeoutMs = 10_000): Promise<void> {
  if (!sendSignal(pid, 'SIGTERM')) return
  const deadline = Date.now() + timeoutMs
  while (processAlive(pid) && Date.now() < deadline) await delay(50)
  if (processAlive(pid)) sendSignal(pid, 'SIGKILL')
  while (processAlive(pid) && Date.now() < deadline + 2_000) await delay(50)
}

/** Where a managed child's stdout and stderr go: appended to a file, or line by line. */
export type ChildOutput =
  | { file: string }
  | { line: (line: string, stream: 'stdout' | 'stderr') => void }

/** A long-running child process. */
export interface ManagedChild {
  readonly pid: number
  /** Resolves when the process has exited and its output is flushed. */
  readonly exited: Promise<Deno.CommandStatus>
  /** False once the process has exited. */
  readonly running: boolean
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves once the process is reaped. */
  stop(timeoutMs?: number): Promise<void>
  /** Sends `signal` now, if the process still runs. */
  kill(signal: Deno.Signal): void
}

/** Options for {@linkcode spawnManaged}. */
export interface SpawnOptions extends CommandOptions {
  output: ChildOutput
  /** Keep stdin open as a pipe, so the child sees EOF when we die; closed once it has exited. */
  pipeStdin?: boolean
}

/**
 * Spawns a long-running child whose output is appended to a file or passed line by line to a
 * callback.
 *
 * @param cmd the program
 * @param args its arguments
 * @param options environment, working directory and output
 * @returns a handle to stop and await the child
 */
export function spawnManaged(cmd: string, args: string[], options: SpawnOptions): ManagedChild {
  const child = new Deno.Command(cmd, {
    args,
    env: options.env,
    clearEnv: options.clearEnv,
    cwd: options.cwd,
    stdin: options.pipeStdin ? 'piped' : 'null',
    stdout: 'piped',
    stderr: 'piped',
  }).spawn()
  const drained = Promise.all([
    drain(child.stdout, options.output, 'stdout'),
    drain(child.stderr, options.output, 'stderr'),
  ])
  let running = true
  const exited = (async () => {
    const status = await child.status
    running = false
    await drained.catch(() => {})
    if (options.pipeStdin) await child.stdin.close().catch(() => {})
    return status
  })()
  return {
    pid: child.pid,
    exited,
    get running() {
      return running
    },
    async stop(timeoutMs = 10_000) {
      if (running) await terminate(child, exited, timeoutMs)
      else await exited
    },
    kill(signal) {
      if (running) killChild(child, signal)
    },
  }
}

/**
 * Stops a child: SIGTERM, then SIGKILL if it has not exited within `timeoutMs`.
 *
 * @param child the process
 * @param exited settles once the child has exited (and its output is drained)
 * @param timeoutMs grace period before SIGKILL
 * @returns when `exited` has settled
 */
export async function terminate(
  child: Deno.ChildProcess,
  exited: Promise<unknown>,
  timeoutMs: number,
): Promise<void> {
  killChild(child, 'SIGTERM')
  const timer = setTimeout(() => killChild(child, 'SIGKILL'), timeoutMs)
  try {
    await exited
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Resolves after `ms` milliseconds.
 *
 * @param ms the delay
 */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * The last `count` lines of a text file, for error messages that point at a child's log.
 *
 * @param path the file
 * @param count how many lines
 * @returns the lines, or an empty string when the file cannot be read
 */
export function tailFile(path: string, count = 20): string {
  try {
    const lines = Deno.readTextFileSync(path).trimEnd().split('\n')
    return lines.slice(-count).join('\n')
  } catch {
    return ''
  }
}

function killChild(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal)
  } catch {
    // Already exited.
  }
}

function sendSignal(pid: number, signal: Deno.Signal): boolean {
  try {
    Deno.kill(pid, signal)
    return true
  } catch {
    return false
  }
}

async function drain(
  stream: ReadableStream<Uint8Array>,
  output: ChildOutput,
  name: 'stdout' | 'stderr',
): Promise<void> {
  if ('file' in output) {
    const file = await Deno.open(output.file, { create: true, append: true })
    // pipeTo closes the file when the child closes its end.
    await stream.pipeTo(file.writable)
    return
  }
  let pending = ''
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk
    const lines = pending.split('\n')
    pending = lines.pop() ?? ''
    for (const line of lines) output.line(line, name)
  }
  if (pending) output.line(pending, name)
}
