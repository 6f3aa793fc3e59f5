/**
 * The local stack as a library: `startStack(options)` boots PostgreSQL, the Supabase Auth server,
 * the project's migrations, the functions host, the gateway and the browser demo page, and returns
 * a handle whose
 * `stop()` takes everything down again. Used by `start.ts` (`deno task start`) and by
 * `tests/run.ts` (an ephemeral stack per test run).
 *
 * @module
 */
import { join } from 'node:path'
import { type AuthBinary, locateAuthBinary } from './auth_binary.ts'
import { AuthServer, stopStaleAuthServer } from './auth_server.ts'
import { bootstrapDatabase } from './bootstrap.ts'
import { createControl } from './control.ts'
import { type DemoServer, startDemoServer } from './demo_server.ts'
import { demoUser, ensureDemoUser } from './demo_user.ts'
import { oauthServerEnv } from './oauth_server.ts'
import { functionsEnvironment, FunctionsHost } from './functions_process.ts'
import { resolveFunctionsRuntime } from './functions_runtime.ts'
import { type Gateway, startGateway } from './gateway.ts'
import { ensureKeys, type KeyMaterial, publicJwks, randomHex } from './keys.ts'
import { applyMigrations } from './migrations.ts'
import { defaultStateDir, repoRoot, type StatePaths, statePaths } from './paths.ts'
import { assertPortsFree } from './ports.ts'
import { Pooler, type PoolerMode, resolvePoolerMode, stopStalePooler } from './pooler.ts'
import { Postgres } from './postgres.ts'
import { resolveJwtExp, resolveLegacyKeys, resolvePorts } from './settings.ts'
import { acquireLock, releaseLock, type StackInfo, writeStackInfo } from './state.ts'

/** Options for {@linkcode startStack}; every one has a default. */
export interface StartStackOptions {
  /** State directory; default `EDGE_AUTH_STATE_DIR` or `<repo>/.local`. */
  stateDir?: string
  /** Gateway port; default `EDGE_AUTH_GATEWAY_PORT` or 54321; 0 picks a free port. */
  gatewayPort?: number
  /** PostgreSQL port; default `EDGE_AUTH_PG_PORT` or 54322; 0 picks a free port. */
  pgPort?: number
  /** Internal auth server port; default `EDGE_AUTH_AUTH_PORT` or 54329; 0 picks a free port. */
  authPort?: number
  /**
   * Port of the browser demo page (another origin than the gateway); default
   * `EDGE_AUTH_DEMO_PORT` or 54323, or a free port when `gatewayPort` is 0; 0 picks a free port.
   */
  demoPort?: number
  /**
   * Fail when no auth server binary can be had (default true). With false the stack starts
   * degraded: `/auth/v1/*` answers 503 and migrations that need the auth schema stay pending.
   */
  requireAuth?: boolean
  /** Run `go install` when no binary is found (default true). */
  installAuth?: boolean
  /** Where the auth binary is looked for and installed; default `<stateDir>/bin`. */
  authBinDir?: string
  /** Access-token lifetime in seconds; default `EDGE_AUTH_JWT_EXP` or 3600. */
  jwtExp?: number
  /** Create the demo user (default true). */
  demoUser?: boolean
  /** Publish the signing key's path in stack.json, for tests that mint tokens (default false). */
  exposeSigningKey?: boolean
  /** Run PostgreSQL without fsync: for throwaway test stacks (default false). */
  fastPostgres?: boolean
  /** Functions' output: prefixed lines on the console (default) or `<stateDir>/logs/functions.log`. */
  functionsOutput?: 'console' | 'file'
  /**
   * The Deno binary of the functions host; default `EDGE_AUTH_FUNCTIONS_DENO`, else the stack's.
   */
  functionsDeno?: string
  /**
   * `transaction` puts PgBouncer in transaction mode between the functions and PostgreSQL;
   * default `EDGE_AUTH_POOLER`, else `off`.
   */
  pooler?: PoolerMode
  /**
   * Whether the legacy anon and service_role JWTs work as API keys and reach the functions as
   * `SUPABASE_ANON_KEY` / `SUPABASE_SERVICE_ROLE_KEY`; default `EDGE_AUTH_LEGACY_KEYS` (`on` or
   * `off`), else on.
   */
  legacyKeys?: boolean
  /** Extra environment variables for the functions. */
  functionsEnv?: Record<string, string>
  /** Extra `GOTRUE_*` settings for the auth server (managed ones such as ports excepted). */
  authEnv?: Record<string, string>
  /** Progress messages; default: stderr with an `edge-auth:` prefix. */
  log?: (message: string) => void
}

/** A running stack. */
export interface LocalStack {
  /** The current contents of stack.json (keys change after a key revocation). */
  readonly info: StackInfo
  readonly paths: StatePaths
  /** Milliseconds `startStack` took. */
  readonly startMs: number
  /** Stops every child and removes stack.json and the lock. Idempotent. */
  stop(): Promise<void>
}

/** No auth server binary could be found or installed, and the caller requires one. */
export class AuthServerUnavailableError extends Error {
  /**
   * @param reason the exact reason (e.g. the `go install` error)
   */
  constructor(readonly reason: string) {
    super(`Cannot start the local stack without the Supabase Auth server: ${reason}`)
    this.name = 'AuthServerUnavailableError'
  }
}

/**
 * Starts the local stack. On failure everything started so far is stopped again.
 *
 * @param options ports, state directory and behaviour
 * @returns the running stack
 * @throws AuthServerUnavailableError when `requireAuth` and no binary can be had
 * @throws Error when a port is taken or a part fails to start
 */
export async function startStack(options: StartStackOptions = {}): Promise<LocalStack> {
  const startedAt = performance.now()
  const log = options.log ?? ((message: string) => console.error(`edge-auth: ${message}`))
  const paths = statePaths(options.stateDir ?? defaultStateDir())
  const requireAuth = options.requireAuth ?? true
  const jwtExp = resolveJwtExp(options.jwtExp)
  const ports = resolvePorts(options)
  const poolerMode = resolvePoolerMode(options.pooler)
  const legacyKeys = resolveLegacyKeys(options.legacyKeys)
  const runtime = await resolveFunctionsRuntime(options.functionsDeno)

  await acquireLock(paths)
  const postgres = new Postgres({ paths, port: ports.postgres, fast: options.fastPostgres, log })
  let gateway: Gateway | null = null
  let demo: DemoServer | null = null
  let auth: AuthServer | null = null
  let functions: FunctionsHost | null = null
  let pooler: Pooler | null = null
  // Front to back, so no request reaches a part that is already gone; every step runs even when
  // an earlier one fails, and each is a no-op for a part that never started.
  const stopAll = async () => {
    const steps: [string, () => Promise<unknown>][] = [
      ['demo page', async () => await demo?.shutdown()],
      ['gateway', async () => await gateway?.shutdown()],
      ['functions host', async () => await functions?.stop()],
      ['auth server', async () => await auth?.stop()],
      ['pooler', async () => await pooler?.stop()],
      ['PostgreSQL', () => postgres.stop()],
      ['lock', () => releaseLock(paths)],
    ]
    for (const [name, step] of steps) {
      try {
        await withTimeout(step(), 60_000)
      } catch (err) {
        log(`while stopping the ${name}: ${(err as Error).message}`)
      }
    }
  }
  try {
    for (const dir of [paths.logs, paths.run]) await Deno.mkdir(dir, { recursive: true })
    // We hold the lock, so anything still running from this directory was orphaned by a crash.
    if (await postgres.isRunning()) {
      log('stopping a PostgreSQL server left running by an earlier stack')
      await postgres.stop()
    }
    await stopStaleAuthServer(paths, log)
    await stopStalePooler(join(paths.run, 'pooler.pid'), log)
    assertPortsFree([
      { name: 'gateway', port: ports.gateway, envName: 'EDGE_AUTH_GATEWAY_PORT' },
      { name: 'PostgreSQL', port: ports.postgres, envName: 'EDGE_AUTH_PG_PORT' },
      { name: 'demo page', port: ports.demo, envName: 'EDGE_AUTH_DEMO_PORT' },
    ])

    const binary: AuthBinary = await locateAuthBinary({
      binDir: options.authBinDir ?? paths.bin,
      candidates: [join(paths.bin, 'auth')],
      install: options.installAuth ?? true,
      log,
    })
    if (binary.path === null && requireAuth) throw new AuthServerUnavailableError(binary.reason)
    if (binary.path) {
      assertPortsFree([{ name: 'auth server', port: ports.auth, envName: 'EDGE_AUTH_AUTH_PORT' }])
    } else {
      log(`starting without the auth server: ${binary.reason}`)
    }

    let keys: KeyMaterial = await ensureKeys(paths.keys)
    const controlToken = randomHex(32)
    const gatewayUrl = `http://127.0.0.1:${ports.gateway}`
    const issuer = `${gatewayUrl}/auth/v1`

    if (poolerMode === 'transaction') {
      pooler = new Pooler({
        dir: paths.pooler,
        port: 0,
        pgPort: ports.postgres,
        pidFile: join(paths.run, 'pooler.pid'),
        output: { file: join(paths.logs, 'pgbouncer.log') },
        log,
      })
    }
    const functionsDbUrl = pooler?.url ?? postgres.url
    const functionsEnv = () =>
      functionsEnvironment({
        gatewayPort: ports.gateway,
        dbUrl: functionsDbUrl,
        keys: { ...keys, legacyKeys },
        jwks: publicJwks(keys.jwtKeys),
        extra: options.functionsEnv,
      })
    const functionsHost = new FunctionsHost({
      repoRoot,
      runtime,
      env: functionsEnv(),
      output: options.functionsOutput === 'file'
        ? { file: join(paths.logs, 'functions.log') }
        : { line: (line) => console.log(`[functions] ${line}`) },
      log,
    })
    functions = functionsHost
    const authServer = binary.path
      ? new AuthServer({
        binary: binary.path,
        paths,
        port: ports.auth,
        pgPort: ports.postgres,
        externalUrl: issuer,
        jwtExp,
        keys,
        env: { ...oauthServerEnv(`http://127.0.0.1:${ports.demo}`), ...options.authEnv },
        log,
      })
      : null
    auth = authServer

    const info: StackInfo = {
      url: gatewayUrl,
      publishableKey: keys.publishableKey,
      secretKey: keys.secretKey,
      legacyKeys,
      anonKey: keys.anonKey,
      serviceRoleKey: keys.serviceRoleKey,
      jwksUrl: `${issuer}/.well-known/jwks.json`,
      issuer,
      dbUrl: postgres.url,
      functionsDbUrl,
      database: pooler ? 'pgbouncer-transaction' : 'direct',
      functionsRuntime: functionsHost.runtimeName,
      functionsUrl: `${gatewayUrl}/functions/v1`,
      demoUrl: `http://127.0.0.1:${ports.demo}`,
      authServer: authServer !== null,
      ...(binary.reason ? { authServerUnavailableReason: binary.reason } : {}),
      controlToken,
      jwtExp,
      ports: { ...ports, functions: null, pooler: pooler?.port ?? null },
      pids: { supervisor: Deno.pid, postgres: null, auth: null, functions: null, pooler: null },
      demoUser: null,
      ...(options.exposeSigningKey ? { signingKeyPath: keys.signingKeyPath } : {}),
      skippedMigrations: [],
      stateDir: paths.root,
      startedAt: new Date().toISOString(),
    }
    const publish = async () => {
      info.anonKey = keys.anonKey
      info.serviceRoleKey = keys.serviceRoleKey
      info.pids = {
        supervisor: Deno.pid,
        postgres: postgres.pid(),
        auth: authServer?.pid ?? null,
        functions: functionsHost.pid,
        pooler: pooler?.pid ?? null,
      }
      const functionsUrl = functionsHost.url
      info.ports.functions = functionsUrl ? Number(new URL(functionsUrl).port) : null
      await writeStackInfo(paths, info)
    }

    gateway = startGateway({
      port: ports.gateway,
      authUpstream: () => (authServer?.running ? authServer.url : null),
      functionsUpstream: () => functionsHost.url,
      keys: () => ({ ...keys, legacyKeys }),
      control: createControl({
        token: controlToken,
        postgres,
        auth: authServer,
        functions: functionsHost,
        pooler,
        keysDir: paths.keys,
        keysChanged: async (material) => {
          keys = material
          // Every phase changes SUPABASE_JWKS: the functions' next start gets the current set,
          // as a hosted instance booted after a rotation does.
          functionsHost.setEnv(functionsEnv())
          await publish()
        },
        changed: publish,
      }),
      log,
    })
    demo = startDemoServer({
      port: ports.demo,
      // Read per request: the demo user appears last.
      config: () => ({
        apiUrl: gatewayUrl,
        functionsUrl: info.functionsUrl,
        publishableKey: keys.publishableKey,
        demoUser: info.demoUser,
      }),
    })

    log(`starting PostgreSQL on 127.0.0.1:${ports.postgres}`)
    await postgres.start()
    // Roles, grants and default privileges of a Supabase project, before any migration: the
    // auth server's and the project's run under them as they would on a hosted project.
    await bootstrapDatabase(postgres.url, keys.authDbPassword)
    if (pooler) {
      log(`starting PgBouncer (transaction mode) on 127.0.0.1:${pooler.port} for the functions`)
      await pooler.start()
    }

    // The auth chain and the functions host are independent: start them side by side.
    const databaseReady = (async () => {
      if (authServer) {
        log(`starting the auth server on 127.0.0.1:${ports.auth}`)
        await authServer.migrate()
        await authServer.start()
      }
      const report = await applyMigrations(postgres.url, repoRoot, {
        tolerateMissingAuth: !authServer,
        log,
      })
      for (const file of report.applied) log(`applied migration ${file}`)
      for (const { file, reason } of report.skipped) {
        log(`left migration ${file} pending (no auth schema without the auth server): ${reason}`)
      }
      info.skippedMigrations = report.skipped.map((skip) => skip.file)
    })()
    const outcomes = await Promise.allSettled([databaseReady, functionsHost.start()])
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') throw outcome.reason
    }

    if (authServer && (options.demoUser ?? true)) {
      await ensureDemoUser(gatewayUrl, keys.secretKey)
      info.demoUser = { ...demoUser }
    }
    await publish()

    let stopped: Promise<void> | null = null
    return {
      get info() {
        return info
      },
      paths,
      startMs: performance.now() - startedAt,
      stop() {
        stopped ??= (async () => {
          await Deno.remove(paths.stackJson).catch(() => {})
          await stopAll()
        })()
        return stopped
      },
    }
  } catch (err) {
    await stopAll()
    throw err
  }
}

/** Bounds a stop step: e.g. a streaming gateway request that never ends must not hang the stop. */
async function withTimeout(step: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`gave up after ${ms / 1000}s`)), ms)
  })
  try {
    await Promise.race([step, expired])
  } finally {
    clearTimeout(timer)
  }
}
