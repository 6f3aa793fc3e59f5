/**
 * The key set the platform injects (`SUPABASE_JWKS`), in front of the remote JWKS: its keys
 * verify at once, with no fetch; a `kid` it lacks (a key rotated in after the instance booted)
 * goes to the remote set under its cooldown rules, so rotation needs no redeploy. Keys it holds
 * that cannot verify a token here (a symmetric `oct` key, as the CLI's local set has, a key with
 * private members, one without a `kid` or for no allowed algorithm) are left out with one log
 * line; when none is left, the remote set does all the work.
 *
 * @module
 */
import { createLocalJWKSet } from 'jose/jwks/local'
import type { JwkInput } from '../core/config.ts'
import { INTEGER_SETTINGS } from '../core/options.ts'
import { hasPrivateMembers, isUsableJwk, kidsOf } from './key_policy.ts'
import { type KeyStore, lookupKey } from './key_store.ts'

/**
 * Builds the key store of an instance from the injected keys and the remote set behind them;
 * call it once per instance.
 *
 * @param keys the injected keys (`config.inlineKeys`), unchecked
 * @param config the algorithm allow-list
 * @param remote the remote JWKS, for every `kid` the injected set lacks
 * @returns the key store
 */
export function createInlineKeyStore(
  keys: readonly JwkInput[],
  config: { readonly algorithms: readonly string[] },
  remote: KeyStore,
): KeyStore {
  const usable = keys.filter((jwk) =>
    typeof jwk.kid === 'string' && isUsableJwk(jwk, config.algorithms)
  )
  if (keys.some(hasPrivateMembers)) {
    console.error('[edge-auth] ALERT: SUPABASE_JWKS contains private key material; not loaded')
  }
  if (usable.length < keys.length) {
    console.error(
      `[edge-auth] SUPABASE_JWKS: ${
        keys.length - usable.length
      } of ${keys.length} keys left out (symmetric, private, without a kid or for no allowed algorithm)`,
    )
  }
  if (usable.length === 0) return remote
  const set = createLocalJWKSet({ keys: usable as never })
  const kids = kidsOf(usable)
  // Rounded up to whole seconds, at least 1, by KeysUnavailableError.
  const retryAfter = (remote.cooldownMs ?? INTEGER_SETTINGS.jwksCooldownMs.fallback) / 1000
  return {
    resolve: (header, token) =>
      typeof header.kid === 'string' && kids.has(header.kid)
        ? lookupKey(set, header, token, retryAfter)
        : remote.resolve(header, token),
    isCurrent: (kid) => kids.has(kid) || remote.isCurrent(kid),
    // Injected keys verify without the network: ready at once.
    keysReady: () => Promise.resolve(true),
    // The injected set never changes within an instance; only the remote one can drop keys.
    onKidsRemoved: (listener) => remote.onKidsRemoved(listener),
    cooldownMs: remote.cooldownMs,
  }
}
