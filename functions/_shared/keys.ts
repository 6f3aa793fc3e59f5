/**
 * Verification keys: one key store per instance, from an inline `SUPABASE_JWKS` (here) or the
 * remote JWKS (`remote_keys.ts`).
 *
 * @module
 */
import { createLocalJWKSet } from 'jose'
import type { Config } from './config.ts'
import { isUsableJwk, type Jwk, kidsOf } from './jwk_policy.ts'
import { type KeyStore, type KeyStoreOptions, lookupKey } from './key_store.ts'
import { createRemoteKeyStore } from './remote_keys.ts'

/**
 * Builds the instance's key store from the configuration; call it once per instance.
 *
 * @param config the loaded configuration (`keySource`, `algorithms`, JWKS timings)
 * @param options fetch and clock injection
 * @returns the key store
 */
export function createKeyStore(config: Config, options: KeyStoreOptions = {}): KeyStore {
  const source = config.keySource
  if (source.kind === 'remote') return createRemoteKeyStore(source.url, config, options)
  const keys = source.jwks.keys as readonly Jwk[]
  const set = createLocalJWKSet({ keys: keys as never })
  const kids = kidsOf(keys)
  const ready = keys.some((jwk) => isUsableJwk(jwk, config.algorithms))
  if (!ready) console.error('[edge-auth] ALERT: SUPABASE_JWKS has no key for an allowed algorithm')
  const retryAfter = Math.max(1, config.jwksCooldownMs / 1000)
  return {
    resolve: (header, token) => lookupKey(set, header, token, retryAfter),
    isCurrent: (kid) => kids.has(kid),
    keysReady: () => Promise.resolve(ready),
    // An inline set never changes within an instance.
    onKidsRemoved: () => {},
  }
}
