/**
 * Configuration: read from the environment once, validated, frozen.
 *
 * This is the only module that reads environment variables. Two kinds are read: what the
 * platform injects (`SUPABASE_URL`, `SUPABASE_DB_URL`, the API keys, `SUPABASE_JWKS`), and the
 * project's own settings, all named `EDGE_AUTH_*` because hosted secrets and the CLI's env files
 * refuse names that start with `SUPABASE_`. A bad value throws a {@linkcode ConfigError} naming
 * the variable and the reason (never the value); the Hono adapter's `serveFunction` turns it into
 * 500 `server_misconfigured` on every request instead of a function that cannot boot.
 *
 * @module
 */
import { INTEGER_SETTINGS, type IntegerBounds } from './options.ts'

/** Where variables come from; `Deno.env` in production, a plain object in tests. */
export interface EnvReader {
  /** Returns the variable's value, or `undefined` when unset. */
  get(name: string): string | undefined
}

/** A JWK as configured: only its members are known, nothing is checked yet. */
export type JwkInput = Readonly<Record<string, unknown>>

/** The project's API keys by name (`default` is the one every project has). */
export interface ApiKeys {
  /** `sb_publishable_…` keys (or the legacy anon key, as `default`). */
  readonly publishable: Readonly<Record<string, string>>
  /** `sb_secret_…` keys (or the legacy service_role key, as `default`). */
  readonly secret: Readonly<Record<string, string>>
}

/** The validated configuration every function shares. */
export interface Config {
  /** `SUPABASE_URL`: the project's API gateway. */
  readonly supabaseUrl: URL
  /**
   * `SUPABASE_PUBLISHABLE_KEYS` and `SUPABASE_SECRET_KEYS` (JSON maps, name → key), else the
   * singular `SUPABASE_PUBLISHABLE_KEY` / `SUPABASE_SECRET_KEY` as `default`, else the legacy
   * `SUPABASE_ANON_KEY` / `SUPABASE_SERVICE_ROLE_KEY` as `default`.
   */
  readonly apiKeys: ApiKeys
  /**
   * The publishable key sent as `apikey` to Supabase Auth (login, refresh): the one named by
   * `EDGE_AUTH_PUBLISHABLE_KEY_NAME` (default `default`).
   */
  readonly publishableKey: string | undefined
  /** The secret key for admin calls: the one named by `EDGE_AUTH_SECRET_KEY_NAME` (`default`). */
  readonly secretKey: string | undefined
  /** `SUPABASE_DB_URL`: direct PostgreSQL connection for the session check and RLS queries. */
  readonly dbUrl: string | undefined
  /**
   * `EDGE_AUTH_DB_TIMEOUT_MS` (default {@linkcode DEFAULT_DB_TIMEOUT_MS}): the time budget of
   * each database query or transaction, the wait for a pooled connection and connecting included;
   * past it the caller answers 503. PostgreSQL ends a statement or a lock wait of a transaction
   * after four fifths of it.
   */
  readonly dbTimeoutMs: number
  /**
   * `SUPABASE_JWKS`: the key set the platform injects at boot, used without a fetch; unparsable,
   * it is left out (and said in the log). Which of its keys are usable is the key store's business.
   */
  readonly inlineKeys: readonly JwkInput[]
  /**
   * `EDGE_AUTH_JWKS_URL` (default `${SUPABASE_URL}/auth/v1/.well-known/jwks.json`): where keys
   * the inline set lacks are fetched, so a key rotated in after boot still verifies.
   */
  readonly jwksUrl: URL
  /** `EDGE_AUTH_JWT_ISSUER` (default `${SUPABASE_URL}/auth/v1`): compared exactly with `iss`. */
  readonly issuer: string
  /** `EDGE_AUTH_JWT_AUDIENCE` (default `authenticated`). */
  readonly audience: string
  /** `EDGE_AUTH_JWT_SECRET`: enables legacy HS256 tokens without a `kid`. */
  readonly legacySecret: Uint8Array | undefined
  /** `EDGE_AUTH_ALGORITHMS`: asymmetric algorithms accepted with JWKS keys. */
  readonly algorithms: readonly string[]
  /** `EDGE_AUTH_CLOCK_TOLERANCE_SECONDS` (default 5). */
  readonly clockToleranceSeconds: number
  /** `EDGE_AUTH_MAX_TOKEN_AGE_SECONDS` (default 604800, Supabase's longest access-token lifetime). */
  readonly maxTokenAgeSeconds: number
  /** `EDGE_AUTH_TOKEN_CACHE_SIZE` (default 10000; 0 disables the verified-token cache). */
  readonly tokenCacheSize: number
  /**
   * `EDGE_AUTH_TOKEN_CACHE_BYTES` (default 32 MiB): the verified-token cache's memory bound, so an
   * instance stays well under the edge runtime's 256 MB with the largest tokens Supabase issues.
   */
  readonly tokenCacheBytes: number
  /** `EDGE_AUTH_SESSION_CACHE_TTL_MS` (default 1000; 0 asks the database every time). */
  readonly sessionCacheTtlMs: number
  /** `EDGE_AUTH_SESSION_CACHE_SIZE` (default 10000). */
  readonly sessionCacheSize: number
  /** `EDGE_AUTH_JWKS_TIMEOUT_MS` (default 3000). */
  readonly jwksTimeoutMs: number
  /** `EDGE_AUTH_JWKS_COOLDOWN_MS` (default 30000): least time between refetches for unknown kids. */
  readonly jwksCooldownMs: number
  /** `EDGE_AUTH_JWKS_CACHE_MAX_AGE_MS` (default 600000): how long a fetched key set is fresh. */
  readonly jwksCacheMaxAgeMs: number
  /** `EDGE_AUTH_JWKS_STALE_MAX_MS` (default 1800000): how long known keys survive failed refreshes. */
  readonly jwksStaleMaxMs: number
  /** `EDGE_AUTH_CORS_ORIGINS`: `*` (default) or a comma-separated list of exact origins. */
  readonly corsOrigins: '*' | readonly string[]
  /** `EDGE_AUTH_UPSTREAM_TIMEOUT_MS` (default 5000): budget for calls to Supabase Auth. */
  readonly upstreamTimeoutMs: number
  /**
   * `EDGE_AUTH_CLIENT_ADDRESS_HEADER` (default unset): the header, lowercased, that a proxy the
   * operator trusts writes the caller's address into; `login` and `refresh` then pass it to the
   * auth server's per-client rate limits. Unset, no address is forwarded.
   */
  readonly clientAddressHeader: string | undefined
}

/** The default time budget of a database query or transaction, in milliseconds. */
export const DEFAULT_DB_TIMEOUT_MS: number = INTEGER_SETTINGS.dbTimeoutMs.fallback

/** A setting that a particular function cannot run without. */
export type RequiredSetting = 'publishableKey' | 'dbUrl' | 'secretKey'

/** Thrown for an invalid or missing variable; the message names the variable, never its value. */
export class ConfigError extends Error {
  /** The variable at fault. */
  readonly variable: string

  /**
   * @param variable the environment variable at fault
   * @param reason why it is rejected
   */
  constructor(variable: string, reason: string) {
    super(`Invalid configuration: ${variable} ${reason}`)
    this.name = 'ConfigError'
    this.variable = variable
  }
}

/** The asymmetric algorithms a key set may be used with. */
export const ASYMMETRIC_ALGORITHMS: readonly string[] = Object.freeze([
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'EdDSA',
  'Ed25519',
])
/** The algorithms accepted unless told otherwise: those of Supabase's signing keys. */
export const DEFAULT_ALGORITHMS: readonly string[] = Object.freeze(['ES256', 'RS256', 'EdDSA'])

/** The variable each kind of project key comes from. */
export const API_KEY_VARIABLES = {
  publishable: 'SUPABASE_PUBLISHABLE_KEYS',
  secret: 'SUPABASE_SECRET_KEYS',
} as const

const REQUIRED_ENV: Record<RequiredSetting, string> = {
  publishableKey: API_KEY_VARIABLES.publishable,
  dbUrl: 'SUPABASE_DB_URL',
  secretKey: API_KEY_VARIABLES.secret,
}

/** The settings that pick which key a required key setting uses. */
const KEY_NAME_VARIABLES: Partial<Record<RequiredSetting, string>> = {
  publishableKey: 'EDGE_AUTH_PUBLISHABLE_KEY_NAME',
  secretKey: 'EDGE_AUTH_SECRET_KEY_NAME',
}

/** The project's settings under their old names, which no hosted project can set. */
const DEPRECATED_NAMES: Readonly<Record<string, string>> = {
  EDGE_AUTH_JWKS_URL: 'SUPABASE_JWKS_URL',
  EDGE_AUTH_JWT_ISSUER: 'SUPABASE_JWT_ISSUER',
  EDGE_AUTH_JWT_AUDIENCE: 'SUPABASE_JWT_AUDIENCE',
  EDGE_AUTH_JWT_SECRET: 'SUPABASE_JWT_SECRET',
}

/** Options of {@linkcode loadConfig}. */
export interface LoadConfigOptions {
  /** Settings the calling function needs; a missing one is a start-up error. */
  require?: readonly RequiredSetting[]
}

/**
 * Reads and validates the configuration.
 *
 * @param env where variables come from (default `Deno.env`)
 * @param options settings the caller cannot run without
 * @returns a frozen {@linkcode Config}
 * @throws {ConfigError} naming the first invalid variable
 */
export function loadConfig(env: EnvReader = Deno.env, options: LoadConfigOptions = {}): Config {
  const read = (name: string) => {
    const value = env.get(name)?.trim()
    if (value) return value
    const old = DEPRECATED_NAMES[name]
    const legacy = old === undefined ? undefined : env.get(old)?.trim()
    if (!legacy) return undefined
    // Configuration is read once per instance: one line per instance.
    console.warn(`[edge-auth] ${old} is deprecated: set ${name} instead`)
    return legacy
  }
  const supabaseUrl = parseServiceUrl('SUPABASE_URL', read('SUPABASE_URL'))
  if (!supabaseUrl) throw new ConfigError('SUPABASE_URL', 'is required')
  const base = supabaseUrl.href.replace(/\/+$/, '')
  const apiKeys: ApiKeys = Object.freeze({
    publishable: parseKeys(
      'SUPABASE_PUBLISHABLE_KEYS',
      read('SUPABASE_PUBLISHABLE_KEYS'),
      read('SUPABASE_PUBLISHABLE_KEY') ?? read('SUPABASE_ANON_KEY'),
    ),
    secret: parseKeys(
      'SUPABASE_SECRET_KEYS',
      read('SUPABASE_SECRET_KEYS'),
      read('SUPABASE_SECRET_KEY') ?? read('SUPABASE_SERVICE_ROLE_KEY'),
    ),
  })

  const jwksUrl = read('EDGE_AUTH_JWKS_URL')
  const config: Config = {
    supabaseUrl,
    apiKeys,
    publishableKey: keyNamed(apiKeys.publishable, read('EDGE_AUTH_PUBLISHABLE_KEY_NAME')),
    secretKey: keyNamed(apiKeys.secret, read('EDGE_AUTH_SECRET_KEY_NAME')),
    dbUrl: parseDbUrl(read('SUPABASE_DB_URL')),
    dbTimeoutMs: parseInteger(read, 'EDGE_AUTH_DB_TIMEOUT_MS', INTEGER_SETTINGS.dbTimeoutMs),
    inlineKeys: parseInlineKeys(read('SUPABASE_JWKS')),
    // The default is derived from SUPABASE_URL, so that is the variable a bad default is blamed on.
    jwksUrl: jwksUrl === undefined
      ? parseServiceUrl('SUPABASE_URL', `${base}/auth/v1/.well-known/jwks.json`)!
      : parseServiceUrl('EDGE_AUTH_JWKS_URL', jwksUrl)!,
    issuer: read('EDGE_AUTH_JWT_ISSUER') ?? `${base}/auth/v1`,
    audience: read('EDGE_AUTH_JWT_AUDIENCE') ?? 'authenticated',
    legacySecret: parseSecret(read('EDGE_AUTH_JWT_SECRET')),
    algorithms: parseAlgorithms(read('EDGE_AUTH_ALGORITHMS')),
    clockToleranceSeconds: parseInteger(
      read,
      'EDGE_AUTH_CLOCK_TOLERANCE_SECONDS',
      INTEGER_SETTINGS.clockToleranceSeconds,
    ),
    maxTokenAgeSeconds: parseInteger(
      read,
      'EDGE_AUTH_MAX_TOKEN_AGE_SECONDS',
      INTEGER_SETTINGS.maxTokenAgeSeconds,
    ),
    tokenCacheSize: parseInteger(
      read,
      'EDGE_AUTH_TOKEN_CACHE_SIZE',
      INTEGER_SETTINGS.tokenCacheSize,
    ),
    tokenCacheBytes: parseInteger(
      read,
      'EDGE_AUTH_TOKEN_CACHE_BYTES',
      INTEGER_SETTINGS.tokenCacheBytes,
    ),
    sessionCacheTtlMs: parseInteger(
      read,
      'EDGE_AUTH_SESSION_CACHE_TTL_MS',
      INTEGER_SETTINGS.sessionCacheTtlMs,
    ),
    sessionCacheSize: parseInteger(
      read,
      'EDGE_AUTH_SESSION_CACHE_SIZE',
      INTEGER_SETTINGS.sessionCacheSize,
    ),
    jwksTimeoutMs: parseInteger(read, 'EDGE_AUTH_JWKS_TIMEOUT_MS', INTEGER_SETTINGS.jwksTimeoutMs),
    jwksCooldownMs: parseInteger(
      read,
      'EDGE_AUTH_JWKS_COOLDOWN_MS',
      INTEGER_SETTINGS.jwksCooldownMs,
    ),
    jwksCacheMaxAgeMs: parseInteger(
      read,
      'EDGE_AUTH_JWKS_CACHE_MAX_AGE_MS',
      INTEGER_SETTINGS.jwksCacheMaxAgeMs,
    ),
    jwksStaleMaxMs: parseInteger(
      read,
      'EDGE_AUTH_JWKS_STALE_MAX_MS',
      INTEGER_SETTINGS.jwksStaleMaxMs,
    ),
    corsOrigins: parseOrigins(read('EDGE_AUTH_CORS_ORIGINS')),
    upstreamTimeoutMs: parseInteger(
      read,
      'EDGE_AUTH_UPSTREAM_TIMEOUT_MS',
      INTEGER_SETTINGS.upstreamTimeoutMs,
    ),
    clientAddressHeader: parseHeaderName(
      'EDGE_AUTH_CLIENT_ADDRESS_HEADER',
      read('EDGE_AUTH_CLIENT_ADDRESS_HEADER'),
    ),
  }
  if (!URL.canParse(config.issuer)) {
    throw new ConfigError('EDGE_AUTH_JWT_ISSUER', 'must be an absolute URL')
  }
  for (const setting of options.require ?? []) {
    if (config[setting] !== undefined) continue
    // A key missing because a setting named one the project lacks: that setting is at fault.
    const nameVariable = KEY_NAME_VARIABLES[setting]
    if (nameVariable !== undefined && read(nameVariable) !== undefined) {
      throw new ConfigError(nameVariable, 'names a key the project does not have')
    }
    throw new ConfigError(REQUIRED_ENV[setting], 'is required by this function')
  }
  return Object.freeze(config)
}

/**
 * True for hosts where plain `http:` stays off the internet: loopback, and a single-label name
 * (`kong`, `db`), which only resolves inside a private network such as Docker's, where the
 * Supabase CLI runs functions against `http://kong:8000`. Anything with a dot must use `https:`.
 */
function isPrivateHost(hostname: string): boolean {
  const host = hostname.toLowerCase()
  return host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' ||
    /^127(\.\d{1,3}){3}$/.test(host) || /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/.test(host)
}

/** Parses an `https:` URL (or `http:` to a private host) without credentials in it. */
function parseServiceUrl(variable: string, value: string | undefined): URL | undefined {
  if (value === undefined) return undefined
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(variable, 'is not a valid URL')
  }
  if (url.username || url.password) throw new ConfigError(variable, 'must not contain credentials')
  if (url.protocol === 'https:') return url
  if (url.protocol === 'http:' && isPrivateHost(url.hostname)) return url
  throw new ConfigError(
    variable,
    'must use https: (plain http: only to loopback or a single-label Docker host)',
  )
}

function parseDbUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  if (!/^postgres(ql)?:\/\//.test(value)) {
    throw new ConfigError('SUPABASE_DB_URL', 'must be a postgres:// URL')
  }
  return value
}

/**
 * One kind of API key: the plural JSON map, else the single key (the singular variable or the
 * legacy JWT key) as `default`.
 */
function parseKeys(
  mapName: string,
  map: string | undefined,
  single: string | undefined,
): Readonly<Record<string, string>> {
  if (map !== undefined) {
    let parsed: unknown
    try {
      parsed = JSON.parse(map)
    } catch {
      throw new ConfigError(mapName, 'is not valid JSON')
    }
    const isMap = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) &&
      Object.values(parsed).every((key) => typeof key === 'string' && key.length > 0)
    if (!isMap) throw new ConfigError(mapName, 'must be a JSON object of key names to keys')
    return Object.freeze({ ...parsed as Record<string, string> })
  }
  const keys: Record<string, string> = single === undefined ? {} : { default: single }
  return Object.freeze(keys)
}

/** The key of that name (default `default`), if the project has one. */
function keyNamed(keys: Readonly<Record<string, string>>, name = 'default'): string | undefined {
  return Object.hasOwn(keys, name) ? keys[name] : undefined
}

/** The keys of an injected JWK set, or none (said in the log) when it cannot be read as one. */
function parseInlineKeys(value: string | undefined): readonly JwkInput[] {
  if (value === undefined) return Object.freeze([])
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch {
    parsed = undefined
  }
  const keys = Array.isArray(parsed) ? parsed : (parsed as { keys?: unknown } | null)?.keys
  if (Array.isArray(keys)) {
    return Object.freeze(
      keys.filter((key): key is JwkInput =>
        typeof key === 'object' && key !== null && !Array.isArray(key)
      ),
    )
  }
  console.error('[edge-auth] SUPABASE_JWKS is not a JWK set; keys come from the JWKS URL only')
  return Object.freeze([])
}

/** An HTTP field name (RFC 9110 token), lowercased as `Headers` keeps it. */
function parseHeaderName(variable: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value)) {
    throw new ConfigError(variable, 'must be an HTTP header name')
  }
  return value.toLowerCase()
}

function parseSecret(value: string | undefined): Uint8Array | undefined {
  if (value === undefined) return undefined
  if (value.length < 32) {
    throw new ConfigError('EDGE_AUTH_JWT_SECRET', 'must be at least 32 characters')
  }
  return new TextEncoder().encode(value)
}

function parseAlgorithms(value: string | undefined): readonly string[] {
  if (value === undefined) return DEFAULT_ALGORITHMS
  const list = value.split(',').map((item) => item.trim()).filter(Boolean)
  if (list.length === 0 || !list.every((alg) => ASYMMETRIC_ALGORITHMS.includes(alg))) {
    throw new ConfigError(
      'EDGE_AUTH_ALGORITHMS',
      `must list asymmetric algorithms only (${ASYMMETRIC_ALGORITHMS.join(', ')})`,
    )
  }
  return Object.freeze(list)
}

function parseInteger(
  read: (name: string) => string | undefined,
  variable: string,
  bounds: IntegerBounds,
): number {
  const { fallback, min, max } = bounds
  const value = read(variable)
  if (value === undefined) return fallback
  if (!/^\d+$/.test(value)) throw new ConfigError(variable, 'must be a whole number')
  const number = Number(value)
  if (number < min || number > max) {
    throw new ConfigError(variable, `must be between ${min} and ${max}`)
  }
  return number
}

function parseOrigins(value: string | undefined): '*' | readonly string[] {
  if (value === undefined || value === '*') return '*'
  const origins = value.split(',').map((item) => item.trim()).filter(Boolean)
  for (const origin of origins) {
    let url: URL
    try {
      url = new URL(origin)
    } catch {
      throw new ConfigError(
        'EDGE_AUTH_CORS_ORIGINS',
        'must be * or a comma-separated list of origins',
      )
    }
    if (url.origin !== origin) {
      throw new ConfigError(
        'EDGE_AUTH_CORS_ORIGINS',
        'must list bare origins like https://app.example.com',
      )
    }
  }
  if (origins.length === 0) throw new ConfigError('EDGE_AUTH_CORS_ORIGINS', 'must not be empty')
  return Object.freeze(origins)
}
