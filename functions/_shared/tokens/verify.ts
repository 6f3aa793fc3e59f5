/**
 * Token verification: jose's `jwtVerify` with an explicit policy (algorithm allow-list, pinned
 * `iss` and `aud`, required claims, clock tolerance, maximum age), the checks jose does not do
 * (a string `kid`, `exp − iat`, UUIDs), the verified-token cache in front of it, and the
 * deliberate mapping of failures to answers: the token's fault is 401 `invalid_token` with a
 * fixed description, the key source's fault is 503 with `Retry-After`. jose's messages, claims
 * and the `kid` are never carried into a response.
 *
 * @module
 */
import type { JWTVerifyGetKey, JWTVerifyOptions } from 'jose'
import * as errors from 'jose/errors'
import { jwtVerify } from 'jose/jwt/verify'
import { type Clock, systemClock } from '../core/clock.ts'
import { checkOption, INTEGER_SETTINGS, integerOption } from '../core/options.ts'
import { algorithmsOption } from '../keys/key_source.ts'
import { ApiError, type DescriptionKey, invalidToken, unavailable } from '../core/errors.ts'
import { isUuid } from '../core/uuid.ts'
import { type KeyStore, KeysUnavailableError } from '../keys/key_store.ts'
import { isCompactJws } from './bearer.ts'
import { type AuthContext, type SupabaseClaims, toAuthContext } from './identity.ts'
import { createTokenCache, type TokenCacheEntry } from './token_cache.ts'

/** Options of {@linkcode Verifier.verifyIgnoringExpiry}. */
export interface IgnoringExpiryOptions {
  /** How long ago `exp` may be, in seconds (default the verifier's `maxTokenAgeSeconds`). */
  maxExpiredSeconds?: number
}

/** Options of {@linkcode createVerifier}. */
export interface VerifierOptions {
  /** Compared exactly with `iss` (Supabase Auth: `https://<ref>.supabase.co/auth/v1`). */
  issuer: string
  /** Where the keys come from ({@linkcode createKeySource}). */
  keys: KeyStore
  /** Compared with `aud` (default `authenticated`). */
  audience?: string
  /** Asymmetric algorithms accepted (default `ES256`, `RS256`, `EdDSA`). */
  algorithms?: readonly string[]
  /** Leeway for `exp`, `nbf` and `iat`, in seconds (default 5, at most 300). */
  clockToleranceSeconds?: number
  /** Longest accepted token life, `exp − iat` and age, in seconds (default and most 604800). */
  maxTokenAgeSeconds?: number
  /** Verified tokens remembered (default 10000; 0 disables the cache). */
  cacheSize?: number
  /** The cache's memory bound, in bytes (default 32 MiB). */
  cacheBytes?: number
  /** Legacy HS256 secret (at least 32 characters): admits kid-less HS256 tokens. */
  legacySecret?: string | Uint8Array
  /** The time tokens are judged at (default the system clock). */
  clock?: Clock
}

/** The policy part of {@linkcode VerifierOptions}, with every default filled in. */
export interface VerifyPolicy {
  /** Compared exactly with `iss`. */
  readonly issuer: string
  /** Compared with `aud`. */
  readonly audience: string
  /** Asymmetric algorithms accepted. */
  readonly algorithms: readonly string[]
  /** Leeway, in seconds. */
  readonly clockToleranceSeconds: number
  /** Longest token life, in seconds. */
  readonly maxTokenAgeSeconds: number
  /** Legacy HS256 secret, if any. */
  readonly legacySecret: Uint8Array | undefined
}

/** Verifies access tokens for one instance. */
export interface Verifier {
  /**
   * Verifies a token, returning its identity (at once for a cached token, a promise otherwise);
   * throws, or rejects with, the {@linkcode ApiError} to answer.
   */
  verify(token: string, cached?: CachedToken): AuthContext | Promise<AuthContext>
  /**
   * The cache's entry for a token verified before under a key still in the key set (its `exp`
   * not judged yet), in one lookup; undefined otherwise. Such a string is known to be a compact
   * JWS within the size cap, so its syntax need not be checked again, and handing the entry to
   * `verify` spares it a second lookup.
   */
  lookup(token: string): CachedToken | undefined
  /** Like `verify`, but accepts a token whose only fault is a past `exp` (for logout). */
  verifyIgnoringExpiry(token: string, options?: IgnoringExpiryOptions): Promise<AuthContext>
  /** Readiness: a usable signing key for an allowed algorithm is at hand. */
  keysReady(): Promise<boolean>
  /** The policy tokens are verified under, defaults filled in. */
  readonly policy: VerifyPolicy
}

/** A verified token's entry in the verifier's cache, as {@linkcode Verifier.lookup} gives it. */
export type CachedToken = TokenCacheEntry<AuthContext>

const REQUIRED_CLAIMS = ['exp', 'iat', 'sub', 'role', 'session_id']

/**
 * The options every token is verified with: jose's part of the policy (the rest — a string `kid`,
 * `exp − iat`, UUIDs — is checked after it).
 *
 * @param config algorithms, issuer, audience, tolerance, maximum age, legacy secret
 * @returns the options for `jwtVerify`
 */
export function verifyOptions(config: VerifyPolicy): JWTVerifyOptions {
  return {
    // HS256 joins the list only with a legacy secret, and getKey() limits it to kid-less tokens.
    algorithms: config.legacySecret ? [...config.algorithms, 'HS256'] : [...config.algorithms],
    issuer: config.issuer,
    audience: config.audience,
    requiredClaims: REQUIRED_CLAIMS,
    clockTolerance: config.clockToleranceSeconds,
    // Without maxTokenAge jose never looks at `iat`, so a future `iat` would pass (S12).
    maxTokenAge: config.maxTokenAgeSeconds,
  }
}

const OWNER = 'createVerifier'

/**
 * Creates the verifier of an instance; call it once, as it owns the token cache.
 *
 * @param options issuer, key source, and the policy (audience, algorithms, tolerance, maximum
 *   age), the cache bounds, a legacy secret, the clock (also handed to jose)
 * @returns the verifier
 * @throws {TypeError} naming the option at fault
 *
 * @example
 * ```ts
 * const verifier = createVerifier({
 *   issuer: 'https://abc.supabase.co/auth/v1',
 *   keys: createKeySource({ jwksUrl: 'https://abc.supabase.co/auth/v1/.well-known/jwks.json' }),
 * })
 * ```
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const config = verifierPolicy(options)
  const keys = options.keys
  const clock = options.clock ?? systemClock
  const legacySecret = config.legacySecret
  const tolerance = config.clockToleranceSeconds
  // `Retry-After` of a key failure: the key source is tried again after the cooldown.
  const cooldownSeconds = Math.max(
    1,
    Math.ceil((keys.cooldownMs ?? INTEGER_SETTINGS.jwksCooldownMs.fallback) / 1000),
  )
  const jwtOptions = verifyOptions(config)
  const cache = createTokenCache<AuthContext>(
    integerOption(OWNER, 'cacheSize', options.cacheSize, INTEGER_SETTINGS.tokenCacheSize),
    integerOption(OWNER, 'cacheBytes', options.cacheBytes, INTEGER_SETTINGS.tokenCacheBytes),
  )
  keys.onKidsRemoved((kids) => cache.dropKids(kids))

  const getKey: JWTVerifyGetKey = (header, token) => {
    // Never a public key as an HMAC secret: the secret is the configured one, and only for tokens
    // that name no key at all (T02, T24). Every other token must name its key (T19).
    if (header.kid === undefined && header.alg === 'HS256' && legacySecret !== undefined) {
      return legacySecret
    }
    if (typeof header.kid !== 'string' || header.alg === 'HS256') throw invalidToken('unknownKey')
    return keys.resolve(header, token)
  }

  async function verifyFully(token: string, at: number): Promise<[SupabaseClaims, string?]> {
    if (!isCompactJws(token)) throw invalidToken('malformedToken')
    let result
    try {
      result = await jwtVerify<SupabaseClaims>(token, getKey, {
        ...jwtOptions,
        currentDate: new Date(at),
      })
    } catch (error) {
      throw verificationFailure(error, cooldownSeconds)
    }
    const claims = result.payload
    if (
      claims.exp - claims.iat > config.maxTokenAgeSeconds || typeof claims.role !== 'string' ||
      !isUuid(claims.sub) || !isUuid(claims.session_id)
    ) throw invalidToken('badClaims')
    return [claims, result.protectedHeader.kid]
  }

  function lookup(token: string): CachedToken | undefined {
    const hit = cache.get(token)
    if (hit === undefined || hit.kid === undefined || keys.isCurrent(hit.kid)) return hit
    cache.delete(token)
    return undefined
  }

  /** The cached identity of a token still valid at `at`, without a turn of the event loop. */
  function fromCache(token: string, hit: CachedToken, at: number): AuthContext {
    // Same rule as jose: expired once exp <= now - tolerance, in whole seconds.
    if (hit.exp <= Math.floor(at / 1000) - tolerance) {
      cache.delete(token)
      throw invalidToken('tokenExpired')
    }
    return hit.value
  }

  function verify(token: string, cached = lookup(token)): AuthContext | Promise<AuthContext> {
    const at = clock.now()
    return cached === undefined ? verifyAndCache(token, at) : fromCache(token, cached, at)
  }

  async function verifyAndCache(token: string, at: number): Promise<AuthContext> {
    const [claims, kid] = await verifyFully(token, at)
    const context = toAuthContext(claims, token)
    cache.set(token, { exp: claims.exp, kid, value: context })
    return context
  }

  async function verifyIgnoringExpiry(
    token: string,
    { maxExpiredSeconds = config.maxTokenAgeSeconds }: IgnoringExpiryOptions = {},
  ): Promise<AuthContext> {
    const at = clock.now()
    try {
      const [claims] = await verifyFully(token, at)
      return toAuthContext(claims, token)
    } catch (error) {
      const cause = error instanceof ApiError ? error.cause : undefined
      // jose checks `exp` after the signature and after iss, aud and the required claims.
      if (!(cause instanceof errors.JWTExpired) || cause.claim !== 'exp') throw error
      const exp = (cause.payload as { exp: number }).exp
      if (Math.floor(at / 1000) - exp > maxExpiredSeconds) throw error
      // Verify again "just before expiry", so every other rule (iat, nbf, the longest lifetime) still applies.
      const [claims] = await verifyFully(token, (exp - 1) * 1000)
      return toAuthContext(claims, token)
    }
  }

  return { verify, verifyIgnoringExpiry, lookup, keysReady: () => keys.keysReady(), policy: config }
}

/** The policy of a verifier's options, validated, defaults filled in. */
function verifierPolicy(options: VerifierOptions): VerifyPolicy {
  checkOption(
    OWNER,
    'issuer',
    typeof options.issuer === 'string' && URL.canParse(options.issuer),
    'an absolute URL',
  )
  checkOption(
    OWNER,
    'keys',
    typeof options.keys?.resolve === 'function',
    'a key source (createKeySource)',
  )
  const audience = options.audience ?? 'authenticated'
  checkOption(OWNER, 'audience', typeof audience === 'string' && audience !== '', 'a string')
  const secret = typeof options.legacySecret === 'string'
    ? new TextEncoder().encode(options.legacySecret)
    : options.legacySecret
  checkOption(
    OWNER,
    'legacySecret',
    secret === undefined ||
      (secret instanceof Uint8Array &&
        (typeof options.legacySecret === 'string' ? options.legacySecret.length : secret.length) >=
          32),
    'at least 32 characters',
  )
  return Object.freeze({
    issuer: options.issuer,
    audience,
    algorithms: algorithmsOption(OWNER, options.algorithms),
    clockToleranceSeconds: integerOption(
      OWNER,
      'clockToleranceSeconds',
      options.clockToleranceSeconds,
      INTEGER_SETTINGS.clockToleranceSeconds,
    ),
    maxTokenAgeSeconds: integerOption(
      OWNER,
      'maxTokenAgeSeconds',
      options.maxTokenAgeSeconds,
      INTEGER_SETTINGS.maxTokenAgeSeconds,
    ),
    legacySecret: secret,
  })
}

// jose's codes for failures of the token itself.
const TOKEN_FAILURES: Readonly<Record<string, DescriptionKey>> = {
  ERR_JWS_INVALID: 'malformedToken',
  ERR_JWT_INVALID: 'malformedToken',
  ERR_JOSE_ALG_NOT_ALLOWED: 'malformedToken',
  // Unknown `crit` members and algorithms a key set cannot use (T01, T14).
  ERR_JOSE_NOT_SUPPORTED: 'malformedToken',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'badSignature',
  ERR_JWT_EXPIRED: 'tokenExpired',
  ERR_JWKS_NO_MATCHING_KEY: 'unknownKey',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'unknownKey',
}
// jose's codes for failures of the key source; normally already wrapped by the key store.
const KEY_FAILURES: ReadonlySet<string> = new Set([
  'ERR_JWKS_TIMEOUT',
  'ERR_JOSE_GENERIC',
  'ERR_JWKS_INVALID',
])

/**
 * Maps what verification threw to the response it deserves.
 *
 * @param error what `jwtVerify` or the app-level checks threw
 * @param retryAfter seconds for `Retry-After` when a jose key error arrives unwrapped
 * @returns the {@linkcode ApiError} to throw
 * @throws the original error when it is neither ours nor jose's: a bug, rendered as 500
 */
function verificationFailure(error: unknown, retryAfter: number): ApiError {
  if (error instanceof ApiError) return error
  if (error instanceof KeysUnavailableError) {
    return unavailable('keysUnavailable', error.retryAfter, error.cause)
  }
  if (error instanceof errors.JOSEError) {
    if (error instanceof errors.JWTClaimValidationFailed && !(error instanceof errors.JWTExpired)) {
      return invalidToken(error.claim === 'nbf' ? 'tokenNotYetValid' : 'badClaims', error)
    }
    const key = TOKEN_FAILURES[error.code]
    if (key !== undefined) return invalidToken(key, error)
    if (KEY_FAILURES.has(error.code)) return unavailable('keysUnavailable', retryAfter, error)
  }
  throw error
}
