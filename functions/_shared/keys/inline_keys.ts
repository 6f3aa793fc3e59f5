/**
 * The key store of an inline key set (`SUPABASE_JWKS`): fixed for the life of the instance, no
 * network.
 *
 * @module
 */
import { createLocalJWKSet } from 'jose'
import type { Config } from '../core/config.ts'
import { isUsableJwk, type Jwk, kidsOf } from './key_policy.ts'
import { type KeyStore, lookupKey } from './key_store.ts'

/**
 * Builds the key store of an inline key set; call it once per instance.
 *
 * @param jwks the set's keys (validated by the configuration: public keys only)
 * @param config the algorithm allow-list and the cooldown that sets `Retry-After`
 * @returns the key store
 */
export function createInlineKeyStore(
  jwks: { readonly keys: readonly Record<string, unknown>[] },
  config: Config,
): KeyStore {
  const keys = jwks.keys as readonly Jwk[]
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
