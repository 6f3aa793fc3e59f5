/**
 * The remote JWKS: jose's `createRemoteJWKSet` does the fetching, parsing, key import and sharing
 * of concurrent reloads; this module decides *when* to fetch, because jose's own schedule has three
 * gaps for a service under attack or during an outage:
 *
 * - jose's cooldown counts successful fetches only, so while the JWKS fails every unknown `kid`
 *   fetches again. Here every attempt, failed or not, closes the gate for `jwksCooldownMs`.
 * - jose has no stale-if-error: once its cache is old, each request refetches and fails. Here a
 *   set stays usable for `jwksStaleMaxMs` past its cache age while refreshes fail, for the kids it
 *   contains only (an unknown kid during an outage is a 503: it may be a key published since).
 * - A refresh that fails never replaces the last good set.
 *
 * @module
 */
import { createRemoteJWKSet, customFetch } from 'jose/jwks/remote'
import * as errors from 'jose/errors'
import { type Clock, systemClock } from '../core/clock.ts'
import { createCappedFetch } from './jwks_fetch.ts'
import { isUsableJwk, type Jwk, kidsOf } from './key_policy.ts'
import { type KeyStore, KeysUnavailableError, lookupKey } from './key_store.ts'

/** Options of {@linkcode createRemoteKeyStore}, validated by `createKeySource`. */
export interface RemoteKeyStoreOptions {
  /** Time budget of one fetch, in ms. */
  timeoutMs: number
  /** Least time between fetch attempts, failed or not, in ms. */
  cooldownMs: number
  /** How long a fetched set is fresh, in ms. */
  cacheMaxAgeMs: number
  /** How long known keys outlive their freshness while refreshes fail, in ms. */
  staleMaxMs: number
  /** The algorithm allow-list: a set without a key for one of them is not ready. */
  algorithms: readonly string[]
  /** The fetch the JWKS goes through (default the global fetch); wrapped with the caps. */
  fetch?: typeof fetch
  /** Drives cache age, cooldown and staleness (default the system clock). */
  clock?: Clock
}

/**
 * Builds the key store of a remote JWKS; call it once per instance.
 *
 * @param url the JWKS URL (validated by the configuration: https, or http on loopback)
 * @param config timeouts, cache age, cooldown, stale bound, the algorithm allow-list, fetch, clock
 * @returns the key store
 */
export function createRemoteKeyStore(url: URL, config: RemoteKeyStoreOptions): KeyStore {
  const clock = config.clock ?? systemClock
  const now = () => clock.now()
  const remote = createRemoteJWKSet(url, {
    timeoutDuration: config.timeoutMs,
    // Infinite on jose's side: jose then fetches only when told to, by refresh() below.
    cacheMaxAge: Infinity,
    cooldownDuration: Infinity,
    [customFetch]: createCappedFetch(config.fetch),
  })
  let loadedAt = -Infinity
  let attemptedAt = -Infinity
  let failing = false
  let ready = false
  let kids = new Set<string>()
  let pending: Promise<boolean> | undefined
  const listeners: ((removed: ReadonlySet<string>) => void)[] = []

  const fresh = () => now() - loadedAt < config.cacheMaxAgeMs
  const usable = () => now() - loadedAt < config.cacheMaxAgeMs + config.staleMaxMs
  const retryAfter = () => (attemptedAt + config.cooldownMs - now()) / 1000

  /** Fetches the set unless a fetch is running (joined) or the cooldown is closed; true if loaded. */
  function refresh(): Promise<boolean> {
    if (pending) return pending
    if (now() - attemptedAt < config.cooldownMs) return Promise.resolve(false)
    attemptedAt = now()
    pending = remote.reload().then(loaded, failed).finally(() => {
      pending = undefined
    })
    return pending
  }

  function loaded(): boolean {
    loadedAt = now()
    failing = false
    const keys = (remote.jwks()?.keys ?? []) as Jwk[]
    ready = keys.some((jwk) => isUsableJwk(jwk, config.algorithms))
    // J06: an empty or unusable set looks like bad tokens to each request; only this line tells.
    if (!ready) console.error('[edge-auth] ALERT: the JWKS has no key for an allowed algorithm')
    const next = kidsOf(keys)
    const removed = new Set([...kids].filter((kid) => !next.has(kid)))
    kids = next
    if (removed.size > 0) { for (const listener of listeners) listener(removed) }
    return true
  }

  function failed(error: unknown): boolean {
    failing = true
    // One attempt per cooldown, so one line per cooldown (J01); no URL, no response data.
    const kind = error instanceof Error ? error.name : typeof error
    console.error(`[edge-auth] JWKS refresh failed (${kind})`)
    return false
  }

  async function resolve(...args: Parameters<KeyStore['resolve']>): Promise<CryptoKey> {
    if (!fresh()) await refresh()
    if (!usable()) throw new KeysUnavailableError(retryAfter())
    try {
      return await lookupKey(remote, ...args, retryAfter())
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error
      if (await refresh()) return await lookupKey(remote, ...args, retryAfter())
      if (failing) throw new KeysUnavailableError(retryAfter(), error)
      throw error
    }
  }

  return {
    resolve,
    isCurrent: (kid) => fresh() && kids.has(kid),
    keysReady: async () => {
      if (!fresh()) await refresh()
      return usable() && ready
    },
    onKidsRemoved: (listener) => {
      listeners.push(listener)
    },
    cooldownMs: config.cooldownMs,
  }
}
