/**
 * The real Supabase Auth server (GoTrue) as a child process: its environment, `migrate`, then
 * `serve` until stopped. Its database role and schema come from the bootstrap (`bootstrap.ts`).
 *
 * @module
 */
import { join } from 'node:path'
import type { KeyMaterial } from './keys.ts'
import type { StatePaths } from './paths.ts'
import { waitForHttp } from './ports.ts'
import {
  type ManagedChild,
  processAlive,
  processCommandLine,
  runCommand,
  spawnManaged,
  tailFile,
  terminatePid,
} from './processes.ts'

/** Options for {@linkcode AuthServer}. */
export interface AuthServerOptions {
  binary: string
  paths: StatePaths
  /** Internal port of the auth server (the gateway fronts it). */
  port: number
  pgPort: number
  /** Public base of the auth API: `http://127.0.0.1:<gatewayPort>/auth/v1`. */
  externalUrl: string
  /** Access-token lifetime in seconds. */
  jwtExp: number
  keys: KeyMaterial
  /**
   * More `GOTRUE_*` settings (e.g. a low `GOTRUE_RATE_LIMIT_TOKEN_REFRESH` for a test); they win
   * over the defaults and the starting environment, but not over the managed settings.
   */
  env?: Record<string, string>
  log: (message: string) => void
}

/**
 * Settings the stack must control; a `GOTRUE_*` variable in the caller's environment may override
 * any other default (e.g. `GOTRUE_SESSIONS_TIMEBOX`), but not these.
 */
const managedSettings = new Set([
  'GOTRUE_API_HOST',
  'GOTRUE_API_PORT',
  'API_EXTERNAL_URL',
  'GOTRUE_API_API_EXTERNAL_URL',
  'GOTRUE_DB_DRIVER',
  'GOTRUE_DB_DATABASE_URL',
  'GOTRUE_JWT_SECRET',
  'GOTRUE_JWT_KEYS',
  'GOTRUE_JWT_ISSUER',
  'GOTRUE_JWT_EXP',
])

/** Limits raised far beyond any test's needs; the IP-keyed limiters stay off (no rate header). */
const rateLimits = {
  GOTRUE_RATE_LIMIT_EMAIL_SENT: '100000',
  GOTRUE_RATE_LIMIT_TOKEN_REFRESH: '100000',
  GOTRUE_RATE_LIMIT_OTP: '100000',
  GOTRUE_RATE_LIMIT_VERIFY: '100000',
  GOTRUE_RATE_LIMIT_ANONYMOUS_USERS: '100000',
  GOTRUE_SMTP_MAX_FREQUENCY: '1s',
}

/** The auth server process of one stack. */
export class AuthServer {
  readonly #options: AuthServerOptions
  #child: ManagedChild | null = null
  #stopping = false

  /**
   * @param options binary, ports, keys and logger
   */
  constructor(options: AuthServerOptions) {
    this.#options = options
  }

  /** Base URL of the server itself (not the gateway). */
  get url(): string {
    return `http://127.0.0.1:${this.#options.port}`
  }

  /** The `serve` process id while it runs. */
  get pid(): number | null {
    return this.#child?.running ? this.#child.pid : null
  }

  /** Whether `serve` is running. */
  get running(): boolean {
    return this.#child?.running ?? false
  }

  /** Log file of migrate and serve. */
  get logFile(): string {
    return join(this.#options.paths.logs, 'auth.log')
  }

  /**
   * Replaces the key material used by the next {@linkcode start}.
   *
   * @param keys the new key material
   */
  setKeys(keys: KeyMaterial): void {
    this.#options.keys = keys
  }

  /**
   * Runs `auth migrate` (the migrations are embedded in the binary; `serve` never migrates).
   *
   * @throws Error with the tail of the log when it fails
   */
  async migrate(): Promise<void> {
    await this.#prepareDirs()
    const result = await runCommand(this.#options.binary, ['migrate'], {
      env: this.#env(),
      clearEnv: true,
      cwd: this.#options.paths.authWork,
    })
    await Deno.writeTextFile(this.logFile, result.stdout + result.stderr, { append: true })
    if (result.code !== 0) {
      throw new Error(
        `The auth server's migrations failed (exit ${result.code}); see ${this.logFile}:\n` +
          tailFile(this.logFile, 10),
      )
    }
  }

  /**
   * Starts `auth serve` and waits for `/health`.
   *
   * @throws Error with the tail of the log when it does not become healthy
   */
  async start(): Promise<void> {
    if (this.running) return
    await this.#prepareDirs()
    this.#stopping = false
    const child = spawnManaged(this.#options.binary, ['serve'], {
      env: this.#env(),
      clearEnv: true,
      cwd: this.#options.paths.authWork,
      output: { file: this.logFile },
    })
    this.#child = child
    await Deno.writeTextFile(this.#pidFile(), String(child.pid))
    child.exited.then((status) => {
      if (!this.#stopping && this.#child === child) {
        this.#options.log(
          `auth server exited unexpectedly (code ${status.code}); see ${this.logFile}`,
        )
      }
    })
    try {
      await waitForHttp(`${this.url}/health`, {
        timeoutMs: 30_000,
        alive: () => child.running,
        name: 'The auth server',
      })
    } catch (err) {
      await this.stop()
      throw new Error(
        `${(err as Error).message}; see ${this.logFile}:\n${tailFile(this.logFile, 10)}`,
      )
    }
  }

  /** SIGTERM (graceful shutdown), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    this.#stopping = true
    await this.#child?.stop(10_000)
    this.#child = null
    await Deno.remove(this.#pidFile()).catch(() => {})
  }

  /** Stops and starts `serve`, e.g. after the key set changed. */
  async restart(): Promise<void> {
    await this.stop()
    await this.start()
  }

  async #prepareDirs(): Promise<void> {
    const { authWork, logs, run } = this.#options.paths
    for (const dir of [authWork, logs, run]) await Deno.mkdir(dir, { recursive: true })
  }

  #pidFile(): string {
    return authPidFile(this.#options.paths)
  }

  #env(): Record<string, string> {
    const { keys, port, pgPort, externalUrl, jwtExp } = this.#options
    const dbUrl =
      `postgres://supabase_auth_admin:${keys.authDbPassword}@127.0.0.1:${pgPort}/postgres?sslmode=disable`
    const env: Record<string, string> = {
      GOTRUE_SITE_URL: 'http://127.0.0.1:3000',
      GOTRUE_JWT_AUD: 'authenticated',
      GOTRUE_JWT_DEFAULT_GROUP_NAME: 'authenticated',
      GOTRUE_MAILER_AUTOCONFIRM: 'true',
      // Lets tests exercise anonymous users (the functions must refuse them where required).
      GOTRUE_EXTERNAL_ANONYMOUS_USERS_ENABLED: 'true',
      // As the Supabase CLI: a refresh token may be reused for 10 s (concurrent tabs).
      GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL: '10',
      // Rate limits key on the caller's address from Sb-Forwarded-For, which the gateway passes on
      // only for requests made with the secret key, as hosted: the login and refresh functions
      // send it when EDGE_AUTH_CLIENT_ADDRESS_HEADER names a header they can trust.
      GOTRUE_SECURITY_SB_FORWARDED_FOR_ENABLED: 'true',
      GOTRUE_LOG_LEVEL: 'info',
      ...rateLimits,
    }
    const overrides = { ...Deno.env.toObject(), ...this.#options.env }
    for (const [name, value] of Object.entries(overrides)) {
      if (name.startsWith('GOTRUE_') && !managedSettings.has(name)) env[name] = value
    }
    // The server is started from an empty environment: GoTrue falls back to bare names such as
    // PORT and DATABASE_URL, which must not leak in from the caller.
    return {
      ...env,
      PATH: Deno.env.get('PATH') ?? '/usr/bin:/bin',
      HOME: this.#options.paths.authWork,
      GOTRUE_API_HOST: '127.0.0.1',
      GOTRUE_API_PORT: String(port),
      // Tagged envconfig:"API_EXTERNAL_URL" inside the API section, so the prefixed name would be
      // GOTRUE_API_API_EXTERNAL_URL; the bare name is what the Supabase CLI sets.
      API_EXTERNAL_URL: externalUrl,
      GOTRUE_DB_DRIVER: 'postgres',
      GOTRUE_DB_DATABASE_URL: dbUrl,
      GOTRUE_JWT_SECRET: keys.jwtSecret,
      GOTRUE_JWT_KEYS: JSON.stringify(keys.jwtKeys),
      GOTRUE_JWT_ISSUER: externalUrl,
      GOTRUE_JWT_EXP: String(jwtExp),
    }
  }
}

/**
 * Kills an auth server left behind by a supervisor that died without stopping it (it binds with
 * SO_REUSEPORT, so a stale one would silently share the port with the next).
 *
 * @param paths the state paths
 * @param log progress logger
 */
export async function stopStaleAuthServer(
  paths: StatePaths,
  log: (message: string) => void,
): Promise<void> {
  let pid: number
  try {
    pid = Number(await Deno.readTextFile(authPidFile(paths)))
  } catch {
    return
  }
  const commandLine = processCommandLine(pid)
  // Only a process that still looks like our auth server: the pid may have been reused.
  if (pid > 0 && processAlive(pid) && commandLine?.endsWith(' serve')) {
    log(`stopping an auth server left running by an earlier stack (pid ${pid})`)
    await terminatePid(pid)
  }
  await Deno.remove(authPidFile(paths)).catch(() => {})
}

function authPidFile(paths: StatePaths): string {
  return join(paths.run, 'auth.pid')
}
