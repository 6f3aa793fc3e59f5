/**
 * The key source of a verifier, from its own options: the keys given inline (the platform's
 * `SUPABASE_JWKS`) verify at once, in front of the remote JWKS for every `kid` they lack.
 *
 * @module
 */
import * as errors from 'jose/errors'
import type { Clock } from '../core/clock.ts'
import { ASYMMETRIC_ALGORITHMS, DEFAULT_ALGORITHMS, type JwkInput } from '../core/config.ts'
import { checkOption, INTEGER_SETTINGS, integerOption } from '../core/options.ts'
import { createInlineKeyStore } from './inline_keys.ts'
import type { KeyStore } from './key_store.ts'
import { createRemoteKeyStore } from './remote_keys.ts'

/** Options of {@linkcode createKeySource}; at least one of `jwks` and `jwksUrl`. */
export interface KeySourceOptions {
  /** Keys known at start-up (a JWK set or its `keys`), used without a fetch. */
  jwks?: readonly JwkInput[] | { readonly keys: readonly JwkInput[] }
  /** Where keys the inline set lacks are fetched (`https:`, or `http:` for local stacks). */
  jwksUrl?: string | URL
  /** Time budget of one JWKS fetch, in ms (default 3000, 100 to 30000). */
  timeoutMs?: number
  /** Least time between fetch attempts, failed or not, in ms (default 30000, 0 to 3600000). */
  cooldownMs?: number
  /** How long a fetched set is fresh, in ms (default 600000, 1000 to 86400000). */
  cacheMaxAgeMs?: number
  /** How long known keys survive failing refreshes, in ms (default 1800000, 0 to 86400000). */
  staleMaxMs?: number
  /** Asymmetric algorithms accepted (default `ES256`, `RS256`, `EdDSA`). */
  algorithms?: readonly string[]
  /** The fetch the JWKS goes through (default the global fetch). */
  fetch?: typeof fetch
  /** Drives cache age, cooldown and staleness (default the system clock). */
  clock?: Clock
}

const OWNER = 'createKeySource'

/**
 * Builds the key source of a verifier; call it once per instance, as it caches the remote set.
 *
 * @param options the inline keys and/or JWKS URL, the fetch schedule, the allow-list
 * @returns the key store to give {@linkcode createVerifier}
 * @throws {TypeError} naming the option at fault
 *
 * @example
 * ```ts
 * const keys = createKeySource({ jwksUrl: 'https://abc.supabase.co/auth/v1/.well-known/jwks.json' })
 * ```
 */
export function createKeySource(options: KeySourceOptions): KeyStore {
  const algorithms = algorithmsOption(OWNER, options.algorithms)
  const inline = options.jwks === undefined
    ? []
    : Array.isArray(options.jwks)
    ? options.jwks
    : (options.jwks as { keys?: unknown }).keys
  checkOption(OWNER, 'jwks', Array.isArray(inline), 'a JWK set or an array of JWKs')
  checkOption(
    OWNER,
    'jwksUrl',
    options.jwksUrl !== undefined || (inline as unknown[]).length > 0,
    'given when jwks has no keys',
  )
  const settings = {
    timeoutMs: integerOption(OWNER, 'timeoutMs', options.timeoutMs, INTEGER_SETTINGS.jwksTimeoutMs),
    cooldownMs: integerOption(
      OWNER,
      'cooldownMs',
      options.cooldownMs,
      INTEGER_SETTINGS.jwksCooldownMs,
    ),
    cacheMaxAgeMs: integerOption(
      OWNER,
      'cacheMaxAgeMs',
      options.cacheMaxAgeMs,
      INTEGER_SETTINGS.jwksCacheMaxAgeMs,
    ),
    staleMaxMs: integerOption(
      OWNER,
      'staleMaxMs',
      options.staleMaxMs,
      INTEGER_SETTINGS.jwksStaleMaxMs,
    ),
    algorithms,
    fetch: options.fetch,
    clock: options.clock,
  }
  const remote = options.jwksUrl === undefined
    ? noRemoteKeys(settings.cooldownMs)
    : createRemoteKeyStore(jwksUrlOption(options.jwksUrl), settings)
  return createInlineKeyStore(inline as readonly JwkInput[], { algorithms }, remote)
}

/**
 * An algorithm allow-list: asymmetric algorithms only, at least one.
 *
 * @param owner the component, for the message
 * @param value the list given
 * @returns the list, frozen, or the default
 * @throws {TypeError} for an empty list or one naming another algorithm
 */
export function algorithmsOption(
  owner: string,
  value: readonly string[] | undefined,
): readonly string[] {
  if (value === undefined) return DEFAULT_ALGORITHMS
  checkOption(
    owner,
    'algorithms',
    Array.isArray(value) && value.length > 0 &&
      value.every((alg) => ASYMMETRIC_ALGORITHMS.includes(alg)),
    `a list of asymmetric algorithms (${ASYMMETRIC_ALGORITHMS.join(', ')})`,
  )
  return Object.freeze([...value])
}

function jwksUrlOption(value: string | URL): URL {
  const url = URL.canParse(String(value)) ? new URL(String(value)) : undefined
  checkOption(
    OWNER,
    'jwksUrl',
    url !== undefined && (url.protocol === 'https:' || url.protocol === 'http:') &&
      !url.username && !url.password,
    'an http(s) URL without credentials',
  )
  return url!
}

/** No remote set: a `kid` the inline keys lack is unknown, never a fetch. */
function noRemoteKeys(cooldownMs: number): KeyStore {
  return {
    resolve: () => Promise.reject(new errors.JWKSNoMatchingKey()),
    isCurrent: () => false,
    keysReady: () => Promise.resolve(false),
    onKidsRemoved: () => {},
    cooldownMs,
  }
}
