/**
 * The per-instance authentication object: key store, verifier (with its token cache) and session
 * checker, built once and shared by the routes of a function.
 *
 * @module
 */
import type { Config } from './config.ts'
import type { AuthContext } from './identity.ts'
import { createKeyStore } from './keys.ts'
import { createSessionChecker, type SessionQuery } from './session_check.ts'
import { databaseSessionQuery } from './session_query.ts'
import { createVerifier, type IgnoringExpiryOptions } from './verify.ts'

/** What can be injected into {@linkcode createAuth}, for tests and special deployments. */
export interface AuthDeps {
  /** The fetch the remote JWKS goes through (default the global fetch). */
  fetch?: typeof fetch
  /** The session store (default `public.auth_session_state` through `SUPABASE_DB_URL`). */
  sessionQuery?: SessionQuery
  /** Clock in milliseconds (default `Date.now`), for key-cache, token and session timings. */
  now?: () => number
}

/** The authentication services of one instance. */
export interface Auth {
  /** Verifies a token; throws the `ApiError` to answer (401, or 503 when keys are unavailable). */
  verify(token: string): Promise<AuthContext>
  /** Verifies a token whose only fault may be a past `exp` (logout of an expired session). */
  verifyIgnoringExpiry(token: string, options?: IgnoringExpiryOptions): Promise<AuthContext>
  /** True when the session is live; throws 503 when the session store is down. */
  isSessionActive(sessionId: string, userId: string): Promise<boolean>
  /** Marks a session dead on this instance at once; call it after a successful logout. */
  forgetSession(sessionId: string): void
  /** Readiness: a usable signing key for an allowed algorithm is at hand. */
  keysReady(): Promise<boolean>
}

/**
 * Builds the authentication services of an instance; call it once, at start-up.
 *
 * @param config the loaded configuration
 * @param deps fetch, session store and clock injection
 * @returns the services, to hand to {@linkcode requireUser} and to health or logout handlers
 */
export function createAuth(config: Config, deps: AuthDeps = {}): Auth {
  const keys = createKeyStore(config, { fetch: deps.fetch, now: deps.now })
  const verifier = createVerifier(config, keys, deps.now)
  const sessions = createSessionChecker({
    query: deps.sessionQuery ?? databaseSessionQuery(config),
    ttlMs: config.sessionCacheTtlMs,
    size: config.sessionCacheSize,
    now: deps.now,
  })
  return {
    verify: verifier.verify,
    verifyIgnoringExpiry: verifier.verifyIgnoringExpiry,
    isSessionActive: sessions.isActive,
    forgetSession: sessions.forget,
    keysReady: keys.keysReady,
  }
}
