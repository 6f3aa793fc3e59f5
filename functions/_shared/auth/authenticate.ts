/**
 * The framework-free authentication core of an instance: from a `Request` to a verified identity
 * under a route's policy, or the `ApiError` to answer. It composes the bearer extraction, the key
 * store (inline or remote), the verifier with its token cache and the session check; the Hono
 * adapter (`hono/adapter.ts`) only calls {@linkcode Auth.authenticate} and renders what it throws.
 *
 * @module
 */
import { type Clock, systemClock } from '../core/clock.ts'
import type { Config } from '../core/config.ts'
import type { ServiceDeps } from '../core/deps.ts'
import { insufficientScope, invalidToken } from '../core/errors.ts'
import { database } from '../db/database.ts'
import { createInlineKeyStore } from '../keys/inline_keys.ts'
import type { KeyStore } from '../keys/key_store.ts'
import { createRemoteKeyStore } from '../keys/remote_keys.ts'
import { createSessionChecker } from '../sessions/session_check.ts'
import { databaseSessionStore } from '../sessions/session_store.ts'
import { extractBearer } from '../tokens/bearer.ts'
import type { AuthContext } from '../tokens/identity.ts'
import { createVerifier, type IgnoringExpiryOptions } from '../tokens/verify.ts'

/** What a route asks of its callers. */
export interface AuthPolicy {
  /**
   * `check`: also confirm the session is live (a signed-out session fails within the session
   * cache TTL); `token`: trust the token until `exp`.
   */
  session: 'check' | 'token'
  /** The role the route needs (default and only value: `authenticated`). */
  role?: 'authenticated'
  /** Let anonymous sign-in users in (default false). */
  allowAnonymous?: boolean
  /** The assurance level the route needs (default `aal1`); `aal2` answers 403 "mfa required". */
  aal?: 'aal1' | 'aal2'
  /** Accept a token whose only fault is a past `exp` (logout only; default false). */
  allowExpired?: boolean
}

/**
 * The one dependency shape of every `create<Name>App(config, deps)`: the same optional fields
 * for every function, whether it uses them or not.
 */
export interface AppDeps extends ServiceDeps {
  /**
   * The instance's authentication services (default: built from the configuration and the other
   * fields), for several apps that must share one token cache and one session cache.
   */
  auth?: Auth
}

/** The authentication services of one instance. */
export interface Auth {
  /**
   * The caller of a request under a policy.
   *
   * @throws {ApiError} 401 without credentials or with a bad token or a dead session, 400 for a
   * malformed request, 403 when the policy refuses, 503 when keys or the session store are
   * unavailable
   */
  authenticate(request: Request, policy: AuthPolicy): Promise<AuthContext>
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
  /** The clock every rule of this instance reads. */
  readonly clock: Clock
}

/**
 * The authentication services an app is to use: the injected ones, or new ones.
 *
 * @param config the loaded configuration
 * @param deps the app's dependencies
 * @returns `deps.auth`, or services built by {@linkcode createAuth}
 */
export function authFor(config: Config, deps: AppDeps): Auth {
  return deps.auth ?? createAuth(config, deps)
}

/**
 * Builds the authentication services of an instance; call it once, at start-up.
 *
 * @param config the loaded configuration
 * @param deps clock, fetch, session store and database injection
 * @returns the services
 *
 * @example
 * ```ts
 * const auth = createAuth(loadConfig())
 * const { user } = await auth.authenticate(request, { session: 'check' })
 * ```
 */
export function createAuth(config: Config, deps: ServiceDeps = {}): Auth {
  const clock = deps.clock ?? systemClock
  const keys = createKeyStore(config, deps.fetch, clock)
  const verifier = createVerifier(config, keys, clock)
  const sessions = createSessionChecker({
    query: deps.sessionStore ?? databaseSessionStore(deps.database ?? (() => database(config))),
    ttlMs: config.sessionCacheTtlMs,
    size: config.sessionCacheSize,
    clock,
  })

  async function authenticate(request: Request, policy: AuthPolicy): Promise<AuthContext> {
    const token = await extractBearer(request)
    const context = policy.allowExpired
      ? await verifier.verifyIgnoringExpiry(token)
      : await verifier.verify(token)
    const { user, session } = context
    if (user.role !== (policy.role ?? 'authenticated')) throw insufficientScope('roleNotAllowed')
    if (user.is_anonymous && !policy.allowAnonymous) throw insufficientScope('anonymousNotAllowed')
    if (policy.aal === 'aal2' && user.aal !== 'aal2') throw insufficientScope('mfaRequired')
    if (policy.session === 'check' && !(await sessions.isActive(session.id, user.id))) {
      throw invalidToken('sessionRevoked')
    }
    return context
  }

  return {
    authenticate,
    verify: verifier.verify,
    verifyIgnoringExpiry: verifier.verifyIgnoringExpiry,
    isSessionActive: sessions.isActive,
    forgetSession: sessions.forget,
    keysReady: keys.keysReady,
    clock,
  }
}

/** The injected keys, in front of the remote JWKS for every key they lack. */
function createKeyStore(
  config: Config,
  fetchImpl: typeof fetch | undefined,
  clock: Clock,
): KeyStore {
  const remote = createRemoteKeyStore(config.jwksUrl, config, { fetch: fetchImpl, clock })
  return createInlineKeyStore(config.inlineKeys, config, remote)
}
