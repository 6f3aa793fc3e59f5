/**
 * The deliberate mapping of verification failures to HTTP answers: the
 * token's fault is 401 `invalid_token` with a fixed description, the key source's fault is 503
 * with `Retry-After`. jose's messages, claims and the `kid` are never carried into a response.
 *
 * @module
 */
import { errors } from 'jose'
import { ApiError, type DescriptionKey, invalidToken, unavailable } from './errors.ts'
import { KeysUnavailableError } from './key_store.ts'

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
const KEY_FAILURES = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JOSE_GENERIC', 'ERR_JWKS_INVALID'])

/**
 * Maps what verification threw to the response it deserves.
 *
 * @param error what `jwtVerify` or the app-level checks threw
 * @param retryAfter seconds for `Retry-After` when a jose key error arrives unwrapped
 * @returns the {@linkcode ApiError} to throw
 * @throws the original error when it is neither ours nor jose's: a bug, rendered as 500
 */
export function verificationFailure(error: unknown, retryAfter: number): ApiError {
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
