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
import { ConfigError } from '../core/config.ts'
import { checkOption } from '../core/options.ts'
import {
  ApiError,
  insufficientScope,
  invalidApiKey,
  invalidToken,
  noCredentials,
} from '../core/errors.ts'
import type { Sql } from '../db/database.ts'
import {
  type ApiKeyKind,
  type ApiKeyMatcher,
  type ApiKeyRequirement,
  createApiKeyCheck,
} from './api_keys.ts'
import type { SessionCheck } from '../sessions/database_session_check.ts'
import { isApiKeyToken } from '../tokens/api_key_token.ts'
import { extractBearer } from '../tokens/bearer.ts'
import type { AuthClient, AuthContext } from '../tokens/identity.ts'
import type { CachedToken, IgnoringExpiryOptions, Verifier } from '../tokens/verify.ts'

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

/** Options of {@linkcode createAuth}: the parts it composes. */
export interface AuthOptions {
  /** The token verifier (`createVerifier`), with its key source and token cache. */
  verifier: Verifier
  /**
   * The session check (`createSessionCheck`); without it, a route that checks sessions answers
   * 500 `server_misconfigured` (a deployment fault), and routes that trust the token work.
   */
  sessions?: SessionCheck
  /** The project API keys (`createApiKeyCheck`; default none). */
  apiKeys?: ApiKeyMatcher
  /** The clock the routes' rules read (default the system clock). */
  clock?: Clock
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
   * {@linkcode Auth.authenticate} at once where it can be: the identity itself for a cached token
   * with a fresh session answer (the common case), else a promise; what `authenticate` rejects
   * with is thrown or rejected alike. For adapters on the hot path (`requireUser` uses it): the
   * turns of the microtask queue it spares are a measurable share of such a request.
   */
  authenticateNow(request: Request, policy: AuthPolicy): AuthContext | Promise<AuthContext>
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
   * Starts at once, in the background, what the first session check would otherwise wait for:
   * the database connection and the first poll of the revocation feed (a failure is left to that
   * request). The served entry of a function whose routes check sessions calls it at boot;
   * nothing else connects unasked.
   */
  warmUp(): void
  /**
   * The database client the session check owns, for the app's own queries on the same pool.
   *
   * @throws {ConfigError} when there is none (no `SUPABASE_DB_URL`, or a session store alone)
   */
  database(): Sql
  /** Closes the database connections of the instance (tests, orderly shutdown). */
  close(): Promise<void>
  /** Readiness: a usable signing key for an allowed algorithm is at hand. */
  keysReady(): Promise<boolean>
  /** The clock every rule of this instance reads. */
  readonly clock: Clock
}

/**
 * Composes the authentication services of an instance from its parts; call it once, at
 * start-up (`authFromEnv` builds the parts from the environment).
 *
 * @param options the verifier, the session check, the API keys, the clock
 * @returns the services
 * @throws {TypeError} naming the option at fault
 *
 * @example
 * ```ts
 * const issuer = 'https://abc.supabase.co/auth/v1'
 * const auth = createAuth({
 *   verifier: createVerifier({
 *     issuer,
 *     keys: createKeySource({ jwksUrl: `${issuer}/.well-known/jwks.json` }),
 *   }),
 *   sessions: createSessionCheck({ sql: postgres(Deno.env.get('SUPABASE_DB_URL')!) }),
 * })
 * const { user } = await auth.authenticate(request, { session: 'check' })
 * ```
 */
export function createAuth(options: AuthOptions): Auth {
  const { verifier, sessions } = options
  checkOption(
    'createAuth',
    'verifier',
    typeof verifier?.verify === 'function' && typeof verifier.lookup === 'function',
    'a verifier (createVerifier)',
  )
  checkOption(
    'createAuth',
    'sessions',
    sessions === undefined || typeof sessions.isActive === 'function',
    'a session check (createSessionCheck)',
  )
  checkOption(
    'createAuth',
    'apiKeys',
    options.apiKeys === undefined || typeof options.apiKeys.match === 'function',
    'an API-key check (createApiKeyCheck)',
  )
  const clock = options.clock ?? systemClock
  const apiKeys = options.apiKeys ?? createApiKeyCheck()

  function isActive(sessionId: string, userId: string): boolean | Promise<boolean> {
    if (sessions === undefined) {
      throw new ConfigError(
        'sessions',
        'are required by a route that checks sessions: set SUPABASE_DB_URL, or give createAuth a session check',
      )
    }
    return sessions.isActive(sessionId, userId)
  }

  async function authenticate(request: Request, policy: AuthPolicy): Promise<AuthContext> {
    // Without keys accepted there is always a user, or a refusal.
    return (await authenticateUser(request, policy, false))!
  }

  function authenticateNow(request: Request, policy: AuthPolicy): Settled<AuthContext> {
    return authenticateUser(request, policy, false) as Settled<AuthContext>
  }

  /**
   * The user of a request's bearer, or, when `keysAccepted` and the bearer is a project key
   * rather than a user's token, undefined (the caller tries the keys). Whether the bearer is a
   * key is decided here, once per request, and only for a token not already cached (a cached
   * token verified as a user's). At once, without a turn of the microtask queue, for a cached
   * token with a fresh session answer: those turns are a measurable share of such a request.
   */
  function authenticateUser(
    request: Request,
    policy: AuthPolicy,
    keysAccepted: boolean,
  ): Settled<AuthContext | undefined> {
    let cached: CachedToken | undefined
    let extracted
    try {
      extracted = extractBearer(request, (t) => (cached = verifier.lookup(t)) !== undefined)
    } catch (error) {
      return notABearer(error, keysAccepted)
    }
    if (typeof extracted === 'string') {
      return admitToken(request, extracted, policy, keysAccepted, cached)
    }
    // Looked up again after a body was read: the key set may have changed meanwhile.
    return extracted.then(
      (token) => admitToken(request, token, policy, keysAccepted, verifier.lookup(token)),
      (error) => notABearer(error, keysAccepted),
    )
  }

  function admitToken(
    request: Request,
    token: string,
    policy: AuthPolicy,
    keysAccepted: boolean,
    cached: CachedToken | undefined,
  ): Settled<AuthContext | undefined> {
    const keyAsBearer = cached === undefined && isApiKeyToken(token)
    if (keyAsBearer) {
      if (keysAccepted) return undefined
      // A key in `apikey` and as the bearer (a signed-out supabase-js; older gateways put its
      // role JWT there): the caller has no user session, which is what they are told.
      if (request.headers.has('apikey')) throw noCredentials()
    }
    let verified
    try {
      verified = policy.allowExpired
        ? verifier.verifyIgnoringExpiry(token)
        : verifier.verify(token, cached)
    } catch (error) {
      refuseToken(error, keyAsBearer)
    }
    if (!(verified instanceof Promise)) return authorize(verified!, policy)
    return verified.then(
      (context) => authorize(context, policy),
      (error) => refuseToken(error, keyAsBearer),
    )
  }

  function authorize(context: AuthContext, policy: AuthPolicy): Settled<AuthContext> {
    const { user, session } = context
    if (user.role !== (policy.role ?? 'authenticated')) throw insufficientScope('roleNotAllowed')
    if (user.is_anonymous && !policy.allowAnonymous) throw insufficientScope('anonymousNotAllowed')
    if (policy.aal === 'aal2' && user.aal !== 'aal2') throw insufficientScope('mfaRequired')
    if (context.client !== null) admitClient(context.client, policy)
    if (policy.session !== 'check') return context
    const active = isActive(session.id, user.id)
    if (active instanceof Promise) {
      return active.then((live) => {
        if (!live) throw invalidToken('sessionRevoked')
        return context
      })
    }
    if (!active) throw invalidToken('sessionRevoked')
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
    authenticateNow,
    authenticateAny,
    verify: async (token) => await verifier.verify(token),
    verifyIgnoringExpiry: verifier.verifyIgnoringExpiry,
    isSessionActive: async (sessionId, userId) => await isActive(sessionId, userId),
    forgetSession: (sessionId) => sessions?.forget(sessionId),
    warmUp: () => sessions?.warmUp(),
    database: () => {
      if (sessions === undefined) {
        throw new ConfigError('SUPABASE_DB_URL', 'is required by this function')
      }
      return sessions.database()
    },
    close: async () => await sessions?.close(),
    keysReady: () => verifier.keysReady(),
    clock,
  }
}

/**
 * Rethrows a token's refusal; when the token was a key sent as the bearer, the 401 says where a key
 * belongs instead.
 */
function refuseToken(error: unknown, keyAsBearer: boolean): never {
  if (keyAsBearer && error instanceof ApiError && error.status === 401) {
    throw invalidToken('apiKeyAsBearer', error)
  }
  throw error
}

/** A value at once, or a promise of it. */
type Settled<T> = T | Promise<T>

/**
 * What a failed bearer extraction means: undefined when keys are accepted and the bearer is an
 * `sb_…` key (the syntax rules refuse it as a token), else the failure itself, thrown.
 */
function notABearer(error: unknown, keysAccepted: boolean): undefined {
  if (keysAccepted && error instanceof ApiError && error.descriptionKey === 'apiKeyAsBearer') {
    return undefined
  }
  throw error
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
