/**
 * Project API keys as credentials of server callers: the `apikey` header compared with the
 * configured `secret` or `publishable` keys in constant time, and the rule that tells an API key
 * sent in the `Authorization` slot from a user's access token. Framework-free: `Request` in, the
 * matching key's name out.
 *
 * Constant time: the presented key and every configured key are hashed with HMAC-SHA-256 under a
 * random key made for this instance, and only the 32-byte digests are compared, without an early
 * exit. The time of a comparison depends on neither the content nor the length of a configured
 * key, and the digests cannot be precomputed by a caller, who never learns the HMAC key.
 *
 * @module
 */
import { API_KEY_VARIABLES, type ApiKeys, ConfigError } from '../core/config.ts'
import { checkOption } from '../core/options.ts'
import { timingSafeEqual } from '../core/timing_safe.ts'

/** The two kinds of project API key. */
export type ApiKeyKind = 'secret' | 'publishable'

/**
 * Which keys a route accepts: a kind, and the key's name in `SUPABASE_SECRET_KEYS` /
 * `SUPABASE_PUBLISHABLE_KEYS` (default `default`, as every project has one; `'*'` for any key of
 * the kind).
 */
export interface ApiKeyRequirement {
  /** `secret` or `publishable`; a secret key never stands in for a publishable one. */
  readonly kind: ApiKeyKind
  /** The key's name, or `'*'` for any key of the kind (default `default`). */
  readonly name?: string
}

/** Compares `apikey` headers with the configured keys. */
export interface ApiKeyMatcher {
  /**
   * The name of the configured key the request's `apikey` header equals, among those the
   * requirement accepts; undefined for no header or no match.
   *
   * @throws {ConfigError} when the requirement names a key the configuration lacks (a deployment
   * fault, answered 500 `server_misconfigured`, never a 401 that would blame the caller)
   */
  match(request: Request, requirement: ApiKeyRequirement): Promise<string | undefined>
}

/** Options of {@linkcode createApiKeyCheck}: the project's keys of each kind, by name. */
export interface ApiKeyCheckOptions {
  /** `sb_publishable_…` keys (or the legacy anon key) by name; `default` is every project's. */
  publishable?: Readonly<Record<string, string>>
  /** `sb_secret_…` keys (or the legacy service_role key) by name. */
  secret?: Readonly<Record<string, string>>
}

/**
 * Builds the API-key check of an instance, for `createAuth`.
 *
 * @param options the key maps (default none of either kind)
 * @returns the matcher
 * @throws {TypeError} naming a map that is not an object of names to non-empty strings
 *
 * @example
 * ```ts
 * const apiKeys = createApiKeyCheck({ secret: { default: Deno.env.get('SUPABASE_SECRET_KEY')! } })
 * ```
 */
export function createApiKeyCheck(options: ApiKeyCheckOptions = {}): ApiKeyMatcher {
  const keys = {
    publishable: keyMap('publishable', options.publishable),
    secret: keyMap('secret', options.secret),
  }
  return createApiKeyMatcher(keys)
}

function keyMap(
  name: ApiKeyKind,
  map: Readonly<Record<string, string>> | undefined,
): Readonly<Record<string, string>> {
  if (map === undefined) return Object.freeze({})
  checkOption(
    'createApiKeyCheck',
    name,
    typeof map === 'object' && map !== null && !Array.isArray(map) &&
      Object.values(map).every((key) => typeof key === 'string' && key.length > 0),
    'an object of key names to keys',
  )
  return Object.freeze({ ...map })
}

interface Digested {
  readonly name: string
  readonly digest: Uint8Array
}

/**
 * Builds the matcher of an instance: one random HMAC key, the configured keys' digests computed
 * once, on first use.
 *
 * @param keys the configured API keys (`config.apiKeys`)
 * @returns the matcher
 *
 * @example
 * ```ts
 * const matcher = createApiKeyMatcher(config.apiKeys)
 * const name = await matcher.match(request, { kind: 'secret', name: '*' })
 * if (name === undefined) throw invalidApiKey('secretKeyRequired', 'none')
 * ```
 */
export function createApiKeyMatcher(keys: ApiKeys): ApiKeyMatcher {
  let prepared: Promise<{ hmacKey: CryptoKey; digests: Record<ApiKeyKind, Digested[]> }> | undefined
  const prepare = () =>
    prepared ??= (async () => {
      // Non-extractable and never stored: a new one per instance is all the comparison needs.
      const hmacKey = await crypto.subtle.generateKey(
        { name: 'HMAC', hash: 'SHA-256' },
        false,
        ['sign'],
      )
      const digestAll = (map: Readonly<Record<string, string>>) =>
        Promise.all(
          Object.entries(map).map(async ([name, key]) => ({
            name,
            digest: await hmac(hmacKey, key),
          })),
        )
      return {
        hmacKey,
        digests: {
          secret: await digestAll(keys.secret),
          publishable: await digestAll(keys.publishable),
        },
      }
    })()

  return {
    async match(request, requirement) {
      const name = requirement.name ?? 'default'
      const configured = requirement.kind === 'secret' ? keys.secret : keys.publishable
      if (name === '*' ? Object.keys(configured).length === 0 : !Object.hasOwn(configured, name)) {
        throw new ConfigError(
          API_KEY_VARIABLES[requirement.kind],
          name === '*' ? 'has no key' : `has no key named "${name}", which a route requires`,
        )
      }
      const presented = request.headers.get('apikey')
      // An absent header is no secret: nothing to compare.
      if (presented === null) return undefined
      const { hmacKey, digests } = await prepare()
      const digest = await hmac(hmacKey, presented)
      let matched: string | undefined
      // Every candidate is compared, a match or not, so the time says nothing of which one it was.
      for (const candidate of digests[requirement.kind]) {
        const equal = timingSafeEqual(digest, candidate.digest)
        if (equal && matched === undefined && (name === '*' || candidate.name === name)) {
          matched = candidate.name
        }
      }
      return matched
    },
  }
}

async function hmac(key: CryptoKey, value: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(value)))
}
