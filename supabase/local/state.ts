/**
 * The files a running stack publishes in its state directory: `stack.json` (connection details
 * for tools and tests) and `stack.lock` (which supervisor owns the directory).
 *
 * @module
 */
import type { StatePaths } from './paths.ts'
import { processAlive } from './processes.ts'

/** The contents of `stack.json`. */
export interface StackInfo {
  /** The gateway: the project URL (`SUPABASE_URL`). */
  url: string
  /** `sb_publishable_…`, the key a client app uses (`apikey`). */
  publishableKey: string
  /** `sb_secret_…`, the server-side key (admin API). */
  secretKey: string
  /**
   * Whether the legacy JWT keys below work as API keys (`EDGE_AUTH_LEGACY_KEYS`); off, the gateway
   * refuses them in `apikey`, though the stack still signs them (the gateway sends them upstream).
   */
  legacyKeys: boolean
  /** Legacy anon key (a JWT). */
  anonKey: string
  /** Legacy service_role key (a JWT). */
  serviceRoleKey: string
  jwksUrl: string
  /** The `iss` of access tokens. */
  issuer: string
  /** Superuser connection URL, straight to PostgreSQL (migrations, the auth server, tests). */
  dbUrl: string
  /** The functions' `SUPABASE_DB_URL`: `dbUrl`, or the pooler in front of PostgreSQL. */
  functionsDbUrl: string
  /** The functions' path to the database. */
  database: 'direct' | 'pgbouncer-transaction'
  /**
   * What runs the functions and how they are isolated, e.g. `Deno 2.1.4, one process per
   * function, 256 MB, 2 s CPU per request`.
   */
  functionsRuntime: string
  functionsUrl: string
  /** The browser demo page, served from another origin than `url` (see `demo_server.ts`). */
  demoUrl: string
  /** Whether the real auth server runs (false: degraded stack, `/auth/v1/*` answers 503). */
  authServer: boolean
  /** Why there is no auth server, when there is none. */
  authServerUnavailableReason?: string
  /** Value of the `x-stack-control` header for `POST /_stack/<action>`. */
  controlToken: string
  /** Access-token lifetime in seconds. */
  jwtExp: number
  ports: {
    gateway: number
    postgres: number
    auth: number
    demo: number
    functions: number | null
    pooler: number | null
  }
  pids: {
    supervisor: number
    postgres: number | null
    auth: number | null
    functions: number | null
    pooler: number | null
  }
  demoUser: { email: string; password: string } | null
  /** The current signing key (a private JWK file), for tests that mint tokens; test stacks only. */
  signingKeyPath?: string
  /** Migrations left pending because the auth schema is missing (degraded stack only). */
  skippedMigrations: string[]
  stateDir: string
  startedAt: string
}

/**
 * Writes `stack.json` (mode 0600: it holds the secret keys and the control token).
 *
 * @param paths the state paths
 * @param info the contents
 */
export async function writeStackInfo(paths: StatePaths, info: StackInfo): Promise<void> {
  const temporary = `${paths.stackJson}.tmp`
  await Deno.writeTextFile(temporary, JSON.stringify(info, null, 2) + '\n', { mode: 0o600 })
  await Deno.rename(temporary, paths.stackJson)
}

/**
 * Takes ownership of a state directory for this process.
 *
 * @param paths the state paths
 * @throws Error when another live supervisor owns it
 */
export async function acquireLock(paths: StatePaths): Promise<void> {
  await Deno.mkdir(paths.root, { recursive: true })
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await Deno.writeTextFile(paths.lock, JSON.stringify({ pid: Deno.pid }), { createNew: true })
      return
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err
    }
    const owner = lockOwner(paths)
    if (owner !== null) {
      throw new Error(
        `A local stack is already running from ${paths.root} (pid ${owner}); stop it first`,
      )
    }
    // The previous owner died without cleaning up.
    await Deno.remove(paths.lock).catch(() => {})
  }
  throw new Error(`Cannot take the lock ${paths.lock}`)
}

/**
 * Releases the lock if this process holds it.
 *
 * @param paths the state paths
 */
export async function releaseLock(paths: StatePaths): Promise<void> {
  if (lockOwner(paths) === Deno.pid) await Deno.remove(paths.lock).catch(() => {})
}

/**
 * The pid of the live supervisor owning the directory, or null.
 *
 * @param paths the state paths
 * @returns the pid or null
 */
export function lockOwner(paths: StatePaths): number | null {
  try {
    const { pid } = JSON.parse(Deno.readTextFileSync(paths.lock)) as { pid: number }
    return Number.isInteger(pid) && processAlive(pid) ? pid : null
  } catch {
    return null
  }
}
