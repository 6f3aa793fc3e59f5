/**
 * A function's worker process, seen from the functions host: started on demand
 * (`function_worker.ts` on the host's own Deno), ready once it prints its port, held to the CPU
 * limits while requests are in flight, and ended, with the reason recorded: the memory limit, the
 * CPU limit, a failed boot, a crash, or a stop.
 *
 * CPU is the time of the worker's main thread, where Deno runs JavaScript, sampled every 50 ms
 * from `/proc` while a request is in flight, and each sample is shared evenly among the requests
 * in flight then. The edge runtime counts the isolate's own CPU time; for one request at a time
 * the two agree within a sample, with several at once a request's share is an estimate. Past the
 * soft limit the worker takes no new request and stops once its requests are answered; past the
 * hard limit it is killed at once.
 *
 * @module
 */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { IsolateLimits } from './isolate_limits.ts'
import { type ManagedChild, spawnManaged } from './processes.ts'
import { mainThreadCpuMs } from './proc_usage.ts'
import { LISTENING_PREFIX, MEMORY_PATH, WorkerExit, type WorkerMemory } from './worker_protocol.ts'

/** Why a worker ended. */
export type WorkerEnd = 'memory' | 'cpu' | 'boot' | 'crash' | 'stopped'

/** How to start the workers of one host. */
export interface WorkerSpawnOptions {
  /** `--config <deno.json>` and, for another Deno than the project's, `--no-lock`. */
  denoArgs: string[]
  /** The functions' environment; each worker adds `SUPABASE_FUNCTION_SLUG`. */
  env: Record<string, string>
  limits: IsolateLimits
  /** How long a boot may take (the first may download npm packages). */
  bootTimeoutMs: number
  /** The host's own messages. */
  log: (message: string) => void
}

/** The worker could not boot; the request that asked for it gets the runtime's BOOT_ERROR. */
export class WorkerBootError extends Error {
  /**
   * @param name the function
   * @param reason what happened
   */
  constructor(name: string, reason: string) {
    super(`${name}: boot failed: ${reason}`)
    this.name = 'WorkerBootError'
  }
}

/** One request in flight on a worker. */
export interface RequestTicket {
  /** The request is answered (or abandoned). Idempotent. */
  end(): void
}

const CPU_SAMPLE_MS = 50
/** V8's fatal out-of-memory report (`Fatal JavaScript out of memory`, `heap out of memory`). */
const V8_OUT_OF_MEMORY = /JavaScript (heap )?out of memory|heap out of memory/

const workerScript = join(dirname(fileURLToPath(import.meta.url)), 'function_worker.ts')

/** A running (or ended) worker process of one function. */
export class WorkerProcess {
  readonly name: string
  readonly pid: number
  /** `http://127.0.0.1:<port>` once booted. */
  url = ''
  /** Settles with the reason once the process has exited and its output is drained. */
  readonly ended: Promise<WorkerEnd>
  readonly #child: ManagedChild
  readonly #limits: IsolateLimits
  readonly #log: (message: string) => void
  readonly #tickets = new Map<RequestTicket, { cpuMs: number }>()
  #retiring = false
  #onRetire: () => void = () => {}
  #killedFor: WorkerEnd | null = null
  #outOfMemory = false
  #sampler: ReturnType<typeof setInterval> | undefined
  #lastCpuMs = 0
  #listening: (port: number) => void = () => {}

  private constructor(name: string, entrypoint: string, options: WorkerSpawnOptions) {
    this.name = name
    this.#limits = options.limits
    this.#log = options.log
    this.#child = spawnManaged(Deno.execPath(), [
      'run',
      '--allow-all',
      ...options.denoArgs,
      // The whole V8 heap, as the runtime's heap limit: an allocation that never yields to the
      // memory check still ends here, with V8's own out-of-memory abort.
      `--v8-flags=--max-heap-size=${options.limits.memoryMb}`,
      workerScript,
      `--entrypoint=${entrypoint}`,
      `--memory-mb=${options.limits.memoryMb}`,
    ], {
      env: { ...options.env, SUPABASE_FUNCTION_SLUG: name },
      clearEnv: true,
      // Held open and never written: the worker exits at EOF, when the host is gone.
      pipeStdin: true,
      output: {
        line: (line, stream) => stream === 'stdout' ? this.#stdout(line) : this.#stderr(line),
      },
    })
    this.pid = this.#child.pid
    this.ended = this.#child.exited.then((status) => {
      this.#stopSampling()
      return this.#reason(status)
    })
  }

  /**
   * Starts a worker and waits until it listens.
   *
   * @param name the function
   * @param entrypoint its `index.ts`
   * @param options how to start it
   * @returns the ready worker
   * @throws WorkerBootError when it exits or times out first
   */
  static async boot(
    name: string,
    entrypoint: string,
    options: WorkerSpawnOptions,
  ): Promise<WorkerProcess> {
    const worker = new WorkerProcess(name, entrypoint, options)
    let timer: ReturnType<typeof setTimeout> | undefined
    const port = await Promise.race([
      new Promise<number>((resolve) => (worker.#listening = resolve)),
      worker.ended.then((reason) => {
        throw new WorkerBootError(name, reason === 'boot' ? 'see the log above' : reason)
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new WorkerBootError(name, `not ready within ${options.bootTimeoutMs} ms`)),
          options.bootTimeoutMs,
        )
      }),
    ]).catch(async (err) => {
      worker.kill('boot')
      await worker.ended
      throw err
    }).finally(() => clearTimeout(timer))
    worker.url = `http://127.0.0.1:${port}`
    return worker
  }

  /** False once the process has exited. */
  get running(): boolean {
    return this.#child.running
  }

  /** Takes no new requests (the CPU soft limit, or a stop pending). */
  get retiring(): boolean {
    return this.#retiring
  }

  /** Requests in flight. */
  get inFlight(): number {
    return this.#tickets.size
  }

  /**
   * Sets what happens when the worker retires itself at the CPU soft limit.
   *
   * @param callback called once, as it retires
   */
  onRetire(callback: () => void): void {
    this.#onRetire = callback
  }

  /**
   * Counts a request in flight, for the CPU limits and for a retiring worker's stop.
   *
   * @returns the ticket to end when the request is answered
   */
  begin(): RequestTicket {
    if (this.#tickets.size === 0) this.#startSampling()
    const ticket: RequestTicket = {
      end: () => {
        if (!this.#tickets.delete(ticket)) return
        if (this.#tickets.size === 0) {
          this.#stopSampling()
          if (this.#retiring) this.stop()
        }
      },
    }
    this.#tickets.set(ticket, { cpuMs: 0 })
    return ticket
  }

  /** No new requests; the worker stops once those in flight are answered. */
  retire(): void {
    if (this.#retiring) return
    this.#retiring = true
    this.#onRetire()
    if (this.#tickets.size === 0) this.stop()
  }

  /**
   * SIGTERM (in-flight requests finish), SIGKILL after a grace period.
   *
   * @param graceMs how long before SIGKILL
   * @returns when the process has exited
   */
  async stop(graceMs = 3_000): Promise<void> {
    this.#retiring = true
    if (this.running) this.#killedFor ??= 'stopped'
    await this.#child.stop(graceMs)
    await this.ended
  }

  /**
   * Ends the worker at once.
   *
   * @param reason what to record as the reason it ended
   */
  kill(reason: WorkerEnd): void {
    this.#retiring = true
    if (!this.running) return
    this.#killedFor ??= reason
    this.#child.kill('SIGKILL')
  }

  /**
   * The worker's memory, as it reports it.
   *
   * @returns the figures, or null when it does not answer within 2 s
   */
  async memory(): Promise<WorkerMemory | null> {
    if (!this.running || !this.url) return null
    try {
      const response = await fetch(`${this.url}${MEMORY_PATH}`, {
        signal: AbortSignal.timeout(2_000),
      })
      return response.ok ? await response.json() as WorkerMemory : null
    } catch {
      return null
    }
  }

  #startSampling(): void {
    this.#lastCpuMs = mainThreadCpuMs(this.pid) ?? 0
    this.#sampler = setInterval(() => this.#sample(), CPU_SAMPLE_MS)
  }

  #stopSampling(): void {
    clearInterval(this.#sampler)
    this.#sampler = undefined
  }

  #sample(): void {
    const now = mainThreadCpuMs(this.pid)
    if (now === null || this.#tickets.size === 0) return
    const share = (now - this.#lastCpuMs) / this.#tickets.size
    this.#lastCpuMs = now
    let most = 0
    for (const usage of this.#tickets.values()) {
      usage.cpuMs += share
      most = Math.max(most, usage.cpuMs)
    }
    if (most >= this.#limits.cpuHardMs) {
      this.#log(
        `${this.name} (pid ${this.pid}): CPU time hard limit reached ` +
          `(${Math.round(most)} ms for one request): ending the worker`,
      )
      this.kill('cpu')
    } else if (most >= this.#limits.cpuSoftMs && !this.#retiring) {
      this.#log(
        `${this.name} (pid ${this.pid}): CPU time soft limit reached ` +
          `(${Math.round(most)} ms for one request): no new requests, the next boots a new worker`,
      )
      this.retire()
    }
  }

  #reason(status: Deno.CommandStatus): WorkerEnd {
    if (this.#killedFor === 'cpu' || this.#killedFor === 'boot') return this.#killedFor
    if (status.code === WorkerExit.memoryLimit || this.#outOfMemory) return 'memory'
    if (status.code === WorkerExit.bootFailed) return 'boot'
    if (this.#killedFor === 'stopped' || status.code === WorkerExit.stopped) return 'stopped'
    return 'crash'
  }

  #stdout(line: string): void {
    if (!this.url && line.startsWith(LISTENING_PREFIX)) {
      this.#listening(Number(line.slice(LISTENING_PREFIX.length)))
      return
    }
    console.log(line)
  }

  #stderr(line: string): void {
    if (V8_OUT_OF_MEMORY.test(line)) this.#outOfMemory = true
    console.error(line)
  }
}
