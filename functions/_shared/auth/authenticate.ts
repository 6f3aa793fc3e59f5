/**
 * The framework-free authentication core of an instance: from a `Request` to a verified identity
 * under a route's policy, or the `ApiError` to answer. It composes the bearer extraction, the key
 * store (inline or remote), the verifier with its token cache and the session check, and, for
 * routes that also take server callers, the project API keys (`api_keys.ts`); the Hono adapter
 * (`hono/adapter.ts`) only calls {@linkcode Auth.authenticate} or
 * {@linkcode Auth.authenticateAny} and renders what they throw.
 *
 * @module
 */
import { type Clock, systemClock } from '../core/clock.ts'
import type { Config } from '../core/config.ts'
import type { ServiceDeps } from '../core/deps.ts'
import {
  ApiError,
  insufficientScope,
  invalidApiKey,
  invalidToken,
  noCredentials,
} from '../core/errors.ts'
import { type DatabaseClient, databaseFor } from '../db/database.ts'
import { createInlineKeyStore } from '../keys/inline_keys.ts'
import type { KeyStore } from '../keys/key_store.ts'
import { createRemoteKeyStore } from '../keys/remote_keys.ts'
import { type ApiKeyKind, type ApiKeyRequirement, createApiKeyMatcher } from './api_keys.ts'
import { createSessionChecker } from '../sessions/session_check.ts'
import { databaseRevocationFeed, databaseSessionStore } from '../sessions/session_store.ts'
import { isApiKeyToken } from '../tokens/api_key_token.ts'
import { extractBearer } from '../tokens/bearer.ts'
import type { AuthClient, AuthContext } from '../tokens/identity.ts'
import { type CachedToken, createVerifier, type IgnoringExpiryOptions } from '../tokens/verify.ts'

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
  /**
   * Tokens issued to OAuth clients (Supabase Auth as an OAuth 2.1 server: `client_id` and `scope`
   * claims): `none` (default) refuses them with 403 `insufficient_scope`, the route being the
   * user's own; `any` admits every client; a list admits those client ids only. Their `aud` is
   * `authenticated` like the user's own tokens, so only this tells them apart.
   */
  clients?: 'none' | 'any' | readonly string[]
  /**
   * Scopes an OAuth client's token must carry (each one; default none); a missing one is 403
   * `insufficient_scope` naming them in the challenge. The user's own sessions are not scoped.
   */
  scopes?: readonly string[]
}

/**
 * A credential a route accepts: `user` (a user's access token as Bearer, under the route's
 * {@linkcode AuthPolicy}), `secret` or `publishable` (the project key named `default` in
 * `apikey`), or an {@linkcode ApiKeyRequirement} naming another key or `'*'` for any.
 */
export type AcceptedCredential = 'user' | ApiKeyKind | ApiKeyRequirement

/** Who is calling, as {@linkcode Auth.authenticateAny} decided. */
export type Credential =
  | { readonly kind: 'user'; readonly context: AuthContext }
  | { readonly kind: ApiKeyKind; readonly name: string }

/**
 * The one dependency shape of every `create<Name>App(config, deps)`: the same optional fields
 * for every function, whether it uses them or not.
 */
export interface AppDeps extends AuthDeps {
  /**
   * The instance's authentication services (default: built from the configuration and the other
   * fields), for several apps that must share one token cache and one session cache.
   */
  auth?: Auth
}

/** What {@linkcode createAuth} builds on: the outside dependencies and the database client. */
export interface AuthDeps extends ServiceDeps {
  /**
   * The PostgreSQL client (default one per instance from `SUPABASE_DB_URL`, opened on first use):
   * a postgres.js client of the function's own gets the time budget of `EDGE_AUTH_DB_TIMEOUT_MS`
   * and connections of its own for the session check and RLS queries.
   */
  database?: () => DatabaseClient
}

/** The authentication services of one instance. */
export interface Auth {
  /**
   * The caller of a request under a policy. A cached token with a fresh session answer (the
   * common case) takes one lookup of the token cache and one of the session cache.
   *
   * @throws {ApiError} (the promise rejects with it) 401 without credentials or with a bad token
   * or a dead session, 400 for a malformed request, 403 when the policy refuses, 503 when keys or
   * the session store are unavailable
   */
  authenticate(request: Request, policy: AuthPolicy): Promise<AuthContext>
  /**
   * The caller of a request that may carry one of several kinds of credential, tried in the
   * order of `accepted`; the first that matches decides:
   *
   * - `user`: a request without a bearer (or with a scheme other than Bearer) moves on to the
   *   next kind. An API key in the bearer slot (`sb_…`, or a JWT with role `anon` or
   *   `service_role` and no `sub` or `session_id`: a signed-out supabase-js sends its key there,
   *   and gateways before Supabase CLI 2.106 put the key's role JWT there) is not a user
   *   credential either, when `accepted` has a key
   *   kind: it moves on too. Any other bearer is authenticated under `policy`, and a failure is
   *   the answer: a token that is present but invalid, expired or revoked never falls through
   *   to another kind.
   * - a key kind: the `apikey` header (never `Authorization`, never the query) equals an
   *   accepted key, compared in constant time; otherwise the next kind. The `Authorization`
   *   header plays no part in it.
   *
   * When nothing matches: 401 `invalid_api_key` naming the expected key kind, with a bare
   * `Bearer` challenge when `user` is accepted and no `WWW-Authenticate` otherwise.
   *
   * @param request the incoming request
   * @param accepted the credentials the route accepts, in order (not empty)
   * @param policy what a user must satisfy (default `{ session: 'check' }`)
   * @returns the user's identity, or the kind and name of the matching key
   * @throws {ApiError} what {@linkcode Auth.authenticate} throws for a user's bearer, else 401
   * `invalid_api_key`
   * @throws {ConfigError} when `accepted` names a key the configuration lacks
   *
   * @example
   * ```ts
   * const caller = await auth.authenticateAny(request, ['user', 'secret'])
   * const userId = caller.kind === 'user' ? caller.context.user.id : undefined
   * ```
   */
  authenticateAny(
    request: Request,
    accepted: readonly AcceptedCredential[],
    policy?: AuthPolicy,
  ): Promise<Credential>
  /** Verifies a token; throws the `ApiError` to answer (401, or 503 when keys are unavailable). */
  verify(token: string): Promise<AuthContext>
  /** Verifies a token whose only fault may be a past `exp` (logout of an expired session). */
  verifyIgnoringExpiry(token: string, options?: IgnoringExpiryOptions): Promise<AuthContext>
  /** True when the session is live; throws 503 when the session store is down. */
  isSessionActive(sessionId: string, userId: string): Promise<boolean>
  /** Marks a session dead on this instance at once; call it after a successful logout. */
  forgetSession(sessionId: string): void
  /**
   * Says a route checks sessions. An instance being served ({@linkcode whileServing}) then starts
   * at once, in the background, what its first session check would otherwise wait for: the
   * database connection and the first poll of the revocation feed (a failure is left to that
   * request). Elsewhere, in tests or scripts, nothing connects unasked.
   */
  declareSessionCheck(): void
  /** Readiness: a usable signing key for an allowed algorithm is at hand. */
  keysReady(): Promise<boolean>
  /** The clock every rule of this instance reads. */
  readonly clock: Clock
}

// True while a function's app is built to be served: its session checks warm up at boot.
let serving = false

/**
 * Builds a function's app to serve it: the authentication services created meanwhile start
 * their database connection at boot when a route checks sessions (see
 * {@linkcode Auth.declareSessionCheck}), so the first request of a cold instance waits for
 * neither the connection nor the first revocation poll. `serveFunction` calls it.
 *
 * @param build builds the app (synchronously)
 * @returns what `build` returns
 */
export function whileServing<T>(build: () => T): T {
  serving = true
  try {
    return build()
  } finally {
    serving = false
  }
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
export function createAuth(config: Config, deps: AuthDeps = {}): Auth {
  const warmUp = serving
  const clock = deps.clock ?? systemClock
  const keys = createKeyStore(config, deps.fetch, clock)
  const verifier = createVerifier(config, keys, clock)
  const apiKeys = createApiKeyMatcher(config.apiKeys)
  // Pruned rows can only concern expired tokens: a token lives at most this long, give or take
  // the clock tolerance; a minute more for the clocks of the database and the instance.
  const keepSeconds = config.maxTokenAgeSeconds + config.clockToleranceSeconds + 60
  const database = databaseFor(config, deps)
  const sessions = createSessionChecker({
    query: deps.sessionStore ?? databaseSessionStore(database),
    // An injected store without a feed: every answer is re-asked after the TTL.
    feed: deps.revocationFeed ??
      (deps.sessionStore ? undefined : databaseRevocationFeed(database, keepSeconds)),
    feedKeepMs: keepSeconds * 1000,
    ttlMs: config.sessionCacheTtlMs,
    size: config.sessionCacheSize,
    clock,
  })

  async function authenticate(request: Request, policy: AuthPolicy): Promise<AuthContext> {
    // Without keys accepted there is always a user, or a refusal.
    return (await authenticateUser(request, policy, false))!
  }

  /**
   * The user of a request's bearer, or, when `keysAccepted` and the bearer is a project key
   * rather than a user's token, undefined (the caller tries the keys). Whether the bearer is a
   * key is decided here, once per request, and only for a token not already cached (a cached
   * token verified as a user's).
   */
  async function authenticateUser(
    request: Request,
    policy: AuthPolicy,
    keysAccepted: boolean,
  ): Promise<AuthContext | undefined> {
    let cached: CachedToken | undefined
    let token
    try {
      const extracted = extractBearer(request, (t) => (cached = verifier.lookup(t)) !== undefined)
      // Looked up again after a body was read: the key set may have changed meanwhile.
      if (typeof extracted !== 'string') cached = undefined
      token = await extracted
    } catch (error) {
      // `sb_…` in the bearer slot is refused by the syntax rules: a key, when keys are accepted.
      if (keysAccepted && error instanceof ApiError && error.descriptionKey === 'apiKeyAsBearer') {
        return undefined
      }
      throw error
    }
    const keyAsBearer = cached === undefined && isApiKeyToken(token)
    if (keyAsBearer) {
      if (keysAccepted) return undefined
      // A key in `apikey` and as the bearer (a signed-out supabase-js; older gateways put its
      // role JWT there): the caller has no user session, which is what they are told.
      if (request.headers.has('apikey')) throw noCredentials()
    }
    let context
    try {
      context = policy.allowExpired
        ? await verifier.verifyIgnoringExpiry(token)
        : await verifier.verify(token, cached)
    } catch (error) {
      // A key sent as the bearer, and refused as a token: the refusal says where a key belongs.
      if (keyAsBearer && error instanceof ApiError && error.status === 401) {
        throw invalidToken('apiKeyAsBearer', error)
      }
      throw error
    }
    const { user, session } = context
    if (user.role !== (policy.role ?? 'authenticated')) throw insufficientScope('roleNotAllowed')
    if (user.is_anonymous && !policy.allowAnonymous) throw insufficientScope('anonymousNotAllowed')
    if (policy.aal === 'aal2' && user.aal !== 'aal2') throw insufficientScope('mfaRequired')
    if (context.client !== null) admitClient(context.client, policy)
    if (policy.session === 'check' && !(await sessions.isActive(session.id, user.id))) {
      throw invalidToken('sessionRevoked')
    }
    return context
  }

  async function authenticateAny(
    request: Request,
    accepted: readonly AcceptedCredential[],
    policy: AuthPolicy = { session: 'check' },
  ): Promise<Credential> {
    if (accepted.length === 0) throw new TypeError('authenticateAny: accept at least one kind')
    const requirements = accepted.filter((kind) => kind !== 'user').map(toRequirement)
    const takesUser = requirements.length < accepted.length
    for (const kind of accepted) {
      if (kind === 'user') {
        const keysAccepted = requirements.length > 0
        try {
          const context = await authenticateUser(request, policy, keysAccepted)
          if (context !== undefined) return { kind: 'user', context }
        } catch (error) {
          // `unauthorized` is "no bearer at all": another kind may still match.
          if (!keysAccepted || !(error instanceof ApiError) || error.code !== 'unauthorized') {
            throw error
          }
        }
        continue
      }
      const requirement = toRequirement(kind)
      const name = await apiKeys.match(request, requirement)
      if (name !== undefined) return { kind: requirement.kind, name }
    }
    const kinds = new Set(requirements.map((requirement) => requirement.kind))
    throw invalidApiKey(
      kinds.size === 2
        ? 'apiKeyRequired'
        : kinds.has('secret')
        ? 'secretKeyRequired'
        : 'publishableKeyRequired',
      takesUser ? 'bearer' : 'none',
    )
  }

  return {
    authenticate,
    authenticateAny,
    verify: async (token) => await verifier.verify(token),
    verifyIgnoringExpiry: verifier.verifyIgnoringExpiry,
    isSessionActive: async (sessionId, userId) => await sessions.isActive(sessionId, userId),
    forgetSession: sessions.forget,
    declareSessionCheck() {
      if (warmUp) sessions.warmUp()
    },
    keysReady: keys.keysReady,
    clock,
  }
}

/** Throws the 403 an OAuth client's token gets from a route that does not take it. */
function admitClient(client: AuthClient, policy: AuthPolicy): void {
  const clients = policy.clients ?? 'none'
  if (clients === 'none' || (clients !== 'any' && !clients.includes(client.id))) {
    throw insufficientScope('oauthClientNotAllowed')
  }
  const required = policy.scopes ?? []
  if (required.some((scope) => !client.scopes.includes(scope))) {
    throw insufficientScope('scopeMissing', required.join(' '))
  }
}

function toRequirement(kind: Exclude<AcceptedCredential, 'user'>): ApiKeyRequirement {
  return typeof kind === 'string' ? { kind } : kind
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
