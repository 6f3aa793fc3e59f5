/**
 * Configuration: read from the environment once, validated, frozen.
 *
 * This is the only module that reads environment variables. A bad value throws a
 * {@linkcode ConfigError} naming the variable and the reason (never the value), so a function
 * fails at start-up instead of answering requests wrongly; `app_factory.ts` turns a configuration
 * failure reached at request time into 500 `server_misconfigured`.
 *
 * @module
 */

/** Where variables come from; `Deno.env` in production, a plain object in tests. */
export interface EnvReader {
  /** Returns the variable's value, or `undefined` when unset. */
  get(name: string): string | undefined
}

/** Where the verification keys come from. */
export type KeySource =
  | {
    readonly kind: 'inline'
    readonly jwks: { readonly keys: readonly Record<string, unknown>[] }
  }
  | { readonly kind: 'remote'; readonly url: URL }

/** The validated configuration every function shares. */
export interface Config {
  /** `SUPABASE_URL`: the project's API gateway. */
  readonly supabaseUrl: URL
  /** `SUPABASE_ANON_KEY` or `SUPABASE_PUBLISHABLE_KEY`: the `apikey` sent to Supabase Auth. */
  readonly anonKey: string | undefined
  /** `SUPABASE_SERVICE_ROLE_KEY`: only used where a function needs admin rights. */
  readonly serviceRoleKey: string | undefined
  /** `SUPABASE_DB_URL`: direct PostgreSQL connection for the session check and RLS queries. */
  readonly dbUrl: string | undefined
  /** `SUPABASE_JWKS` (inline) or `SUPABASE_JWKS_URL` (default: the Auth server's JWKS). */
  readonly keySource: KeySource
  /** `SUPABASE_JWT_ISSUER` (default `${SUPABASE_URL}/auth/v1`): compared exactly with `iss`. */
  readonly issuer: string
  /** `SUPABASE_JWT_AUDIENCE` (default `authenticated`). */
  readonly audience: string
  /** `SUPABASE_JWT_SECRET`: enables legacy HS256 tokens without a `kid`. */
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

/** A setting that a particular function cannot run without. */
export type RequiredSetting = 'anonKey' | 'dbUrl' | 'serviceRoleKey'

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

const ASYMMETRIC_ALGORITHMS = [
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
]
const REQUIRED_ENV: Record<RequiredSetting, string> = {
  anonKey: 'SUPABASE_ANON_KEY',
  dbUrl: 'SUPABASE_DB_URL',
  serviceRoleKey: 'SUPABASE_SERVICE_ROLE_KEY',
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
    return value ? value : undefined
  }
  const supabaseUrl = parseServiceUrl('SUPABASE_URL', read('SUPABASE_URL'))
  if (!supabaseUrl) throw new ConfigError('SUPABASE_URL', 'is required')
  const base = supabaseUrl.href.replace(/\/+$/, '')

  const config: Config = {
    supabaseUrl,
    anonKey: read('SUPABASE_ANON_KEY') ?? read('SUPABASE_PUBLISHABLE_KEY'),
    serviceRoleKey: read('SUPABASE_SERVICE_ROLE_KEY'),
    dbUrl: parseDbUrl(read('SUPABASE_DB_URL')),
    keySource: parseKeySource(
      read('SUPABASE_JWKS'),
      read('SUPABASE_JWKS_URL'),
      `${base}/auth/v1/.well-known/jwks.json`,
    ),
    issuer: read('SUPABASE_JWT_ISSUER') ?? `${base}/auth/v1`,
    audience: read('SUPABASE_JWT_AUDIENCE') ?? 'authenticated',
    legacySecret: parseSecret(read('SUPABASE_JWT_SECRET')),
    algorithms: parseAlgorithms(read('EDGE_AUTH_ALGORITHMS')),
    clockToleranceSeconds: parseInteger(read, 'EDGE_AUTH_CLOCK_TOLERANCE_SECONDS', 5, 0, 300),
    maxTokenAgeSeconds: parseInteger(read, 'EDGE_AUTH_MAX_TOKEN_AGE_SECONDS', 604_800, 1, 604_800),
    tokenCacheSize: parseInteger(read, 'EDGE_AUTH_TOKEN_CACHE_SIZE', 10_000, 0, 1_000_000),
    tokenCacheBytes: parseInteger(
      read,
      'EDGE_AUTH_TOKEN_CACHE_BYTES',
      32 * 1024 * 1024,
      0,
      1024 * 1024 * 1024,
    ),
    sessionCacheTtlMs: parseInteger(read, 'EDGE_AUTH_SESSION_CACHE_TTL_MS', 1_000, 0, 60_000),
    sessionCacheSize: parseInteger(read, 'EDGE_AUTH_SESSION_CACHE_SIZE', 10_000, 1, 1_000_000),
    jwksTimeoutMs: parseInteger(read, 'EDGE_AUTH_JWKS_TIMEOUT_MS', 3_000, 100, 30_000),
    jwksCooldownMs: parseInteger(read, 'EDGE_AUTH_JWKS_COOLDOWN_MS', 30_000, 0, 3_600_000),
    jwksCacheMaxAgeMs: parseInteger(
      read,
      'EDGE_AUTH_JWKS_CACHE_MAX_AGE_MS',
      600_000,
      1_000,
      86_400_000,
    ),
    jwksStaleMaxMs: parseInteger(read, 'EDGE_AUTH_JWKS_STALE_MAX_MS', 1_800_000, 0, 86_400_000),
    corsOrigins: parseOrigins(read('EDGE_AUTH_CORS_ORIGINS')),
    upstreamTimeoutMs: parseInteger(read, 'EDGE_AUTH_UPSTREAM_TIMEOUT_MS', 5_000, 100, 9_000),
    clientAddressHeader: parseHeaderName(
      'EDGE_AUTH_CLIENT_ADDRESS_HEADER',
      read('EDGE_AUTH_CLIENT_ADDRESS_HEADER'),
    ),
  }
  if (!URL.canParse(config.issuer)) {
    throw new ConfigError('SUPABASE_JWT_ISSUER', 'must be an absolute URL')
  }
  for (const setting of options.require ?? []) {
    if (config[setting] === undefined) {
      throw new ConfigError(REQUIRED_ENV[setting], 'is required by this function')
    }
  }
  return Object.freeze(config)
}

/** True for hosts that never leave the machine: plain `http:` is acceptable only to them. */
function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase()
  return host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' ||
    /^127(\.\d{1,3}){3}$/.test(host)
}

/** Parses an `https:` URL (or `http:` on loopback) without credentials in it. */
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
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return url
  throw new ConfigError(variable, 'must use https: (plain http: is allowed only on loopback)')
}

function parseDbUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  if (!/^postgres(ql)?:\/\//.test(value)) {
    throw new ConfigError('SUPABASE_DB_URL', 'must be a postgres:// URL')
  }
  return value
}

function parseKeySource(
  inline: string | undefined,
  url: string | undefined,
  fallback: string,
): KeySource {
  if (inline !== undefined) {
    let parsed: unknown
    try {
      parsed = JSON.parse(inline)
    } catch {
      throw new ConfigError('SUPABASE_JWKS', 'is not valid JSON')
    }
    const keys = Array.isArray(parsed) ? parsed : (parsed as { keys?: unknown } | null)?.keys
    if (!Array.isArray(keys) || keys.length === 0 || !keys.every(isPublicJwk)) {
      throw new ConfigError('SUPABASE_JWKS', 'must be a non-empty JWK set of public keys')
    }
    return { kind: 'inline', jwks: { keys } }
  }
  const remote = parseServiceUrl(
    url !== undefined ? 'SUPABASE_JWKS_URL' : 'SUPABASE_URL',
    url ?? fallback,
  )
  return { kind: 'remote', url: remote! }
}

function isPublicJwk(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const jwk = value as Record<string, unknown>
  // A private member means someone pasted a signing key; an `oct` key is a shared secret.
  return typeof jwk.kty === 'string' && jwk.kty !== 'oct' && !('d' in jwk)
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
    throw new ConfigError('SUPABASE_JWT_SECRET', 'must be at least 32 characters')
  }
  return new TextEncoder().encode(value)
}

function parseAlgorithms(value: string | undefined): readonly string[] {
  if (value === undefined) return Object.freeze(['ES256', 'RS256', 'EdDSA'])
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
  fallback: number,
  min: number,
  max: number,
): number {
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
