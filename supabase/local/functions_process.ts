/**
 * Supervisor side of the functions host: runs `functions_host.ts` as a child Deno process with
 * only the environment a deployed Edge Function would see, on a free internal port. The host runs
 * each function in a worker process of its own (see `functions_host.ts`); stopping the host stops
 * them.
 *
 * @module
 */
import { join } from 'node:path'
import { foreignRuntimeEnv, type FunctionsRuntime } from './functions_runtime.ts'
import { describeIsolation } from './isolate_limits.ts'
import type { ProjectKeys } from './keys.ts'
import { freePort, waitForHttp } from './ports.ts'
import { type ChildOutput, type ManagedChild, spawnManaged } from './processes.ts'

/** Options for {@linkcode FunctionsHost}. */
export interface FunctionsHostOptions {
  repoRoot: string
  /** The Deno that runs the host (see `functions_runtime.ts`). */
  runtime: FunctionsRuntime
  /** The variables the functions get (see {@linkcode functionsEnvironment}). */
  env: Record<string, string>
  /** Where the functions are (default `<repoRoot>/functions`). */
  functionsDir?: string
  output: ChildOutput
  log: (message: string) => void
}

/** What the functions read, as the Supabase platform injects it. */
/** Options of {@linkcode functionsEnvironment}. */
export interface FunctionsEnvironmentOptions {
  gatewayPort: number
  /** `SUPABASE_DB_URL`: PostgreSQL itself, or the pooler in front of it. */
  dbUrl: string
  /**
   * The project's keys as `stack.json` publishes them: the `sb_` keys become
   * `SUPABASE_PUBLISHABLE_KEYS` / `SUPABASE_SECRET_KEYS` as `{"default": …}`, the legacy JWT keys
   * `SUPABASE_ANON_KEY` / `SUPABASE_SERVICE_ROLE_KEY` only when `legacyKeys` is on.
   */
  keys: ProjectKeys
  /** `SUPABASE_JWKS`: the public key set the auth server serves. */
  jwks: { keys: unknown[] }
  /** Further variables for the functions (override everything else). */
  extra?: Record<string, string>
}

/**
 * Variables the Deno runtime itself needs to find its cache and registries; they are not part of
 * the functions' configuration.
 */
const runtimeVariables = [
  'HOME',
  'PATH',
  'TMPDIR',
  'TZ',
  'LANG',
  'NO_COLOR',
  'DENO_DIR',
  'DENO_CERT',
  'DENO_TLS_CA_STORE',
  'SSL_CERT_FILE',
  'NPM_CONFIG_REGISTRY',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
]

/**
 * The functions' environment: the variables a hosted project injects (`SUPABASE_URL`,
 * `SUPABASE_DB_URL`, `SUPABASE_PUBLISHABLE_KEYS`, `SUPABASE_SECRET_KEYS`, `SUPABASE_JWKS`, and the
 * legacy `SUPABASE_ANON_KEY` / `SUPABASE_SERVICE_ROLE_KEY` unless they are off), plus every
 * `EDGE_AUTH_*` variable of the starting environment (the project's own settings: hosted secrets
 * cannot start with `SUPABASE_`, so no other variable passes), plus `extra`.
 *
 * @param options ports, API keys, key set and extra variables
 * @returns the variables
 */
export function functionsEnvironment(options: FunctionsEnvironmentOptions): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(Deno.env.toObject())) {
    if (name.startsWith('EDGE_AUTH_')) env[name] = value
  }
  const { keys } = options
  return {
    ...env,
    SUPABASE_URL: `http://127.0.0.1:${options.gatewayPort}`,
    SUPABASE_DB_URL: options.dbUrl,
    SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: keys.publishableKey }),
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: keys.secretKey }),
    SUPABASE_JWKS: JSON.stringify(options.jwks),
    ...(keys.legacyKeys
      ? { SUPABASE_ANON_KEY: keys.anonKey, SUPABASE_SERVICE_ROLE_KEY: keys.serviceRoleKey }
      : {}),
    ...options.extra,
  }
}

/** The functions host child process. */
export class FunctionsHost {
  readonly #options: FunctionsHostOptions
  #child: ManagedChild | null = null
  #port = 0
  #stopping = false
  // Listening and not stopping: only then does the gateway send requests here. Without it the
  // gateway forwarded to a host that had stopped listening or not started yet, and answered 502
  // for the whole of a restart instead of 503 + Retry-After. Cleared before the SIGTERM, so a
  // request that fails because of the stop finds the host gone (the gateway then answers 503).
  #ready = false

  /**
   * @param options repository root, environment, output and logger
   */
  constructor(options: FunctionsHostOptions) {
    this.#options = options
  }

  /** Base URL while running and ready for requests, else null. */
  get url(): string | null {
    return this.#ready && this.#child?.running ? `http://127.0.0.1:${this.#port}` : null
  }

  /**
   * The Deno that runs the functions and how they are isolated, e.g. `Deno 2.1.4, one process
   * per function, 256 MB, 2 s CPU per request`.
   */
  get runtimeName(): string {
    return `Deno ${this.#options.runtime.version}, ${describeIsolation()}`
  }

  /** The host's pid while running (each function's worker is a child of it). */
  get pid(): number | null {
    return this.#child?.running ? this.#child.pid : null
  }

  /**
   * Replaces the functions' environment for the next start.
   *
   * @param env the variables
   */
  setEnv(env: Record<string, string>): void {
    this.#options.env = env
  }

  /**
   * Spawns the host and waits until it listens; each function boots on its first request.
   *
   * @throws Error when the host does not become ready
   */
  async start(): Promise<void> {
    if (this.#child?.running) return
    const { repoRoot, runtime } = this.#options
    const config = join(repoRoot, 'deno.json')
    this.#port = freePort()
    this.#stopping = false
    const runtimeEnv: Record<string, string> = { DENO_NO_UPDATE_CHECK: '1' }
    for (const name of runtimeVariables) {
      const value = Deno.env.get(name)
      if (value !== undefined) runtimeEnv[name] = value
    }
    Object.assign(runtimeEnv, foreignRuntimeEnv(runtime, runtimeEnv))
    const child = spawnManaged(
      runtime.path,
      [
        'run',
        '--allow-all',
        // The functions resolve bare specifiers through the project's import map.
        '--config',
        config,
        // Another Deno may not read deno.lock's format (Deno 2.1 reads only lockfile v4).
        ...(runtime.foreign ? ['--no-lock'] : []),
        join(repoRoot, 'supabase', 'local', 'functions_host.ts'),
        `--port=${this.#port}`,
        `--functions-dir=${this.#options.functionsDir ?? join(repoRoot, 'functions')}`,
        // The workers run on the same Deno, with the same import map and lockfile choice.
        `--config=${config}`,
        ...(runtime.foreign ? ['--no-lock'] : []),
      ],
      {
        env: { ...runtimeEnv, ...this.#options.env },
        clearEnv: true,
        cwd: repoRoot,
        output: this.#options.output,
        pipeStdin: true,
      },
    )
    this.#child = child
    child.exited.then((status) => {
      if (!this.#stopping && this.#child === child) {
        this.#options.log(`functions host exited unexpectedly (code ${status.code})`)
      }
    })
    try {
      await waitForHttp(`http://127.0.0.1:${this.#port}/_host/health`, {
        timeoutMs: 60_000,
        alive: () => child.running,
        name: 'The functions host',
      })
    } catch (err) {
      await this.stop()
      throw err
    }
    this.#ready = true
  }

  /** SIGTERM (the host stops its workers first), SIGKILL after 5 s. */
  async stop(): Promise<void> {
    this.#ready = false
    this.#stopping = true
    await this.#child?.stop(5_000)
    this.#child = null
  }

  /** Stops and starts the host (every function boots afresh on its next request). */
  async restart(): Promise<void> {
    await this.stop()
    await this.start()
  }
}
