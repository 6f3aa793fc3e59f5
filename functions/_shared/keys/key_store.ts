/**
 * The key store contract shared by the inline and the remote key sources, and the classification
 * of key-lookup failures: a key outage is a 503 and never a 401 (a 401 makes clients discard good sessions), and a
 * client's bad token is a 401 and never a 5xx.
 *
 * @module
 */
import type { FlattenedJWSInput, JWSHeaderParameters } from 'jose'
import * as errors from 'jose/errors'

/** A source of verification keys, as the verifier and the readiness probe see it. */
export interface KeyStore {
  /** jose key resolver: the key for a token's protected header. */
  resolve(header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey>
  /** True while `kid` is in a key set fetched within its cache age (cached tokens may be used). */
  isCurrent(kid: string): boolean
  /** Readiness: at least one usable key for an allowed algorithm (may trigger one gated fetch). */
  keysReady(): Promise<boolean>
  /** Registers a listener called with the kids that left the set after a refresh. */
  onKidsRemoved(listener: (kids: ReadonlySet<string>) => void): void
  /** Least time between fetch attempts, in ms: the `Retry-After` of a key failure (default 30 s). */
  readonly cooldownMs?: number
}

/** No usable key could be obtained: the caller answers 503 with `Retry-After`, never 401. */
export class KeysUnavailableError extends Error {
  /** Seconds until the key source will be tried again. */
  readonly retryAfter: number

  /**
   * @param retryAfter seconds until the next attempt
   * @param cause the underlying failure, for logs
   */
  constructor(retryAfter: number, cause?: unknown) {
    super('Cannot verify tokens: signing keys unavailable', { cause })
    this.name = 'KeysUnavailableError'
    this.retryAfter = Math.max(1, Math.ceil(retryAfter))
  }
}

/** The key resolver of a jose local key set. */
export type LocalKeySet = (
  header: JWSHeaderParameters,
  token: FlattenedJWSInput,
) => Promise<CryptoKey>

/**
 * Looks a key up in a jose key set and classifies failures: "no such key" and "unsupported alg"
 * stay jose errors (the token's fault, 401); anything else, such as a key that fails to import or
 * an RSA key under 2048 bits, becomes {@linkcode KeysUnavailableError} (the set's fault, 503).
 *
 * @param set the jose key set
 * @param header the token's protected header
 * @param token the token, as jose passes it
 * @param retryAfter seconds for `Retry-After` when the set is at fault
 * @returns the verification key
 * @throws {errors.JWKSNoMatchingKey} and the other token-side jose errors, unchanged
 * @throws {KeysUnavailableError} when the set itself is unusable
 */
export async function lookupKey(
  set: LocalKeySet,
  header: JWSHeaderParameters,
  token: FlattenedJWSInput,
  retryAfter: number,
): Promise<CryptoKey> {
  let key: CryptoKey
  try {
    key = await set(header, token)
  } catch (error) {
    if (
      error instanceof errors.JWKSNoMatchingKey ||
      error instanceof errors.JWKSMultipleMatchingKeys ||
      error instanceof errors.JOSENotSupported
    ) throw error
    throw new KeysUnavailableError(retryAfter, error)
  }
  // jose checks the modulus only after resolving, with a plain TypeError that would be a 500.
  const modulus = (key.algorithm as Partial<RsaHashedKeyAlgorithm>).modulusLength
  if (modulus !== undefined && modulus < 2048) {
    throw new KeysUnavailableError(retryAfter, new TypeError('RSA key shorter than 2048 bits'))
  }
  return key
}
