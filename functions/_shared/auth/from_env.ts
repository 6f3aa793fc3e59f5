/**
 * The common case: the platform's and the `EDGE_AUTH_` variables mapped to the components'
 * options ({@linkcode fromEnv}), the services built on them ({@linkcode authFromConfig}), and a
 * boot-safe {@linkcode authFromEnv} whose bad variable is a 500 `server_misconfigured` on every
 * call rather than an app that cannot start.
 *
 * @module
 */
import {
  type Config,
  ConfigError,
  type EnvReader,
  loadConfig,
  type LoadConfigOptions,
} from '../core/config.ts'
import type { ServiceDeps } from '../core/deps.ts'
import { systemClock } from '../core/clock.ts'
import { ApiError } from '../core/errors.ts'
import {
  createDatabaseClient,
  type DatabaseClient,
  type Sql,
  withDeadlines,
} from '../db/database.ts'
import { createKeySource, type KeySourceOptions } from '../keys/key_source.ts'
import { createSessionCheck, type SessionCheckOptions } from '../sessions/database_session_check.ts'
import { createVerifier, type VerifierOptions } from '../tokens/verify.ts'
import { type ApiKeyCheckOptions, createApiKeyCheck } from './api_keys.ts'
import { type Auth, createAuth } from './authenticate.ts'

/** Every component's options, as {@linkcode fromEnv} reads them from the environment. */
export interface EnvOptions {
  /** The configuration they were mapped from (CORS, upstream and the other app settings). */
  config: Config
  /** For `createKeySource`: `SUPABASE_JWKS`, `EDGE_AUTH_JWKS_*`, `EDGE_AUTH_ALGORITHMS`. */
  keys: KeySourceOptions
  /** For `createVerifier` (without `keys`): issuer, audience, algorithms, tolerance, cache. */
  verifier: Omit<VerifierOptions, 'keys'>
  /**
   * For `createSessionCheck`: a client for `SUPABASE_DB_URL` (opened on first query) with its
   * time budget, the cache TTL and size; undefined without `SUPABASE_DB_URL`.
   */
  sessions: SessionCheckOptions | undefined
  /** For `createApiKeyCheck`: `SUPABASE_PUBLISHABLE_KEYS` and `SUPABASE_SECRET_KEYS`. */
  apiKeys: ApiKeyCheckOptions
}

/**
 * Reads the environment into every component's options, for the common case.
 *
 * @param env where variables come from (default `Deno.env`)
 * @param options settings the caller cannot run without (`require: ['dbUrl']`)
 * @returns the options of each component, and the configuration
 * @throws {ConfigError} naming the first invalid variable
 */
export function fromEnv(env: EnvReader = Deno.env, options: LoadConfigOptions = {}): EnvOptions {
  return optionsFromConfig(loadConfig(env, options))
}

/**
 * Maps a loaded configuration to every component's options.
 *
 * @param config the configuration
 * @returns the options of each component
 * @throws {ConfigError} when `SUPABASE_DB_URL` is not a usable URL
 */
export function optionsFromConfig(config: Config): EnvOptions {
  let sql: DatabaseClient | undefined
  if (config.dbUrl !== undefined) {
    try {
      sql = createDatabaseClient(config.dbUrl, { timeoutMs: config.dbTimeoutMs })
    } catch (error) {
      throw new ConfigError('SUPABASE_DB_URL', (error as Error).message)
    }
  }
  return {
    config,
    keys: {
      jwks: config.inlineKeys,
      jwksUrl: config.jwksUrl,
      timeoutMs: config.jwksTimeoutMs,
      cooldownMs: config.jwksCooldownMs,
      cacheMaxAgeMs: config.jwksCacheMaxAgeMs,
      staleMaxMs: config.jwksStaleMaxMs,
      algorithms: config.algorithms,
    },
    verifier: {
      issuer: config.issuer,
      audience: config.audience,
      algorithms: config.algorithms,
      clockToleranceSeconds: config.clockToleranceSeconds,
      maxTokenAgeSeconds: config.maxTokenAgeSeconds,
      cacheSize: config.tokenCacheSize,
      cacheBytes: config.tokenCacheBytes,
      legacySecret: config.legacySecret,
    },
    sessions: sql === undefined ? undefined : { sql, ...sessionSettings(config) },
    apiKeys: { publishable: config.apiKeys.publishable, secret: config.apiKeys.secret },
  }
}

/** The session check's settings in a configuration, whatever it checks sessions against. */
function sessionSettings(config: Config): Omit<SessionCheckOptions, 'sql' | 'store' | 'feed'> {
  return {
    timeoutMs: config.dbTimeoutMs,
    ttlMs: config.sessionCacheTtlMs,
    size: config.sessionCacheSize,
    tokenLifetimeSeconds: config.maxTokenAgeSeconds + config.clockToleranceSeconds,
  }
}

/** What {@linkcode authFromConfig} builds on besides the configuration: what a test swaps in. */
export interface AuthDeps extends ServiceDeps {
  /**
   * A database client to use instead of one for `SUPABASE_DB_URL`: a postgres.js client of the
   * function's own gets the time budget of `EDGE_AUTH_DB_TIMEOUT_MS` and a pool of its own.
   */
  database?: () => DatabaseClient
}

/**
 * The one dependency shape of every `create<Name>App(config, deps)`: the same optional fields
 * for every function, whether it uses them or not.
 */
export interface AppDeps extends AuthDeps {
  /**
   * The instance's authentication services (default: built from the configuration and the other
   * fields), for several apps that must share one token cache, one session cache and one pool.
   */
  auth?: Auth
}

/**
 * Builds the authentication services from a loaded configuration: each component from its
 * options ({@linkcode optionsFromConfig}), with what `deps` swaps in.
 *
 * @param config the configuration
 * @param deps clock, fetch, session store, revocation feed, database
 * @returns the services
 * @throws {ConfigError} when `SUPABASE_DB_URL` is not a usable URL
 */
export function authFromConfig(config: Config, deps: AuthDeps = {}): Auth {
  const options = optionsFromConfig(config)
  const { clock } = deps
  const keys = createKeySource({ ...options.keys, fetch: deps.fetch, clock })
  // An injected client replaces the one for `SUPABASE_DB_URL`, which never opened.
  const sql = deps.database?.() ?? options.sessions?.sql
  const store = deps.sessionStore
  const sessions = sql === undefined && store === undefined ? undefined : createSessionCheck({
    ...sessionSettings(config),
    sql,
    store,
    feed: deps.revocationFeed,
    clock,
  })
  return createAuth({
    verifier: createVerifier({ ...options.verifier, keys, clock }),
    sessions,
    apiKeys: createApiKeyCheck(options.apiKeys),
    clock,
  })
}

/**
 * The authentication services an app is to use: the injected ones, or new ones. The app's own
 * queries go to `auth.database()`: the session check's pool, or `deps.database` when services
 * and a client are both injected.
 *
 * @param config the loaded configuration
 * @param deps the app's dependencies
 * @returns `deps.auth`, or services built by {@linkcode authFromConfig}
 */
export function authFor(config: Config, deps: AppDeps = {}): Auth {
  const { auth, database } = deps
  if (auth === undefined) return authFromConfig(config, deps)
  if (database === undefined) return auth
  let sql: Sql | undefined
  return { ...auth, database: () => sql ??= withDeadlines(database(), config.dbTimeoutMs) }
}

/**
 * The authentication services of the environment, for any app, that never stop it booting: with
 * a bad variable, its name (never its value) is logged once and every call rejects with
 * {@linkcode ApiError} 500 `server_misconfigured`, which `requireUser` in a plain Hono app
 * renders as it renders a 401.
 *
 * @param env where variables come from (default `Deno.env`)
 * @param options settings the caller cannot run without (`require: ['dbUrl']`)
 * @returns the services
 *
 * @example
 * ```ts
 * const auth = authFromEnv(Deno.env, { require: ['dbUrl'] })
 * const app = new Hono()
 * app.use('/api/*', requireUser(auth, { session: 'check' }))
 * ```
 */
export function authFromEnv(env: EnvReader = Deno.env, options: LoadConfigOptions = {}): Auth {
  try {
    return authFromConfig(loadConfig(env, options))
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    console.error(`[edge-auth] ${error.message}`)
    return misconfiguredAuth()
  }
}

/** Services whose every call is a 500 `server_misconfigured`. */
function misconfiguredAuth(): Auth {
  const refuse = () => new ApiError(500, 'server_misconfigured', 'misconfigured')
  const reject = () => Promise.reject(refuse())
  return {
    authenticate: reject,
    authenticateNow: reject,
    authenticateAny: reject,
    verify: reject,
    verifyIgnoringExpiry: reject,
    isSessionActive: reject,
    keysReady: reject,
    forgetSession: () => {},
    warmUp: () => {},
    database: () => {
      throw refuse()
    },
    close: () => Promise.resolve(),
    clock: systemClock,
  }
}
