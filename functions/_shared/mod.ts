/**
 * edge-auth's framework-free core: Supabase Auth access tokens verified against the project's keys,
 * the session behind a token checked in PostgreSQL (a signed-out session is refused), and the
 * answer as a value or an {@linkcode ApiError} carrying its RFC 6750 status and challenge. It
 * decides on `Request`s, so any framework can put it in front of its routes; the Hono
 * middleware is `@edge-auth/edge-auth/hono`, the PostgreSQL client and session store
 * `@edge-auth/edge-auth/postgres`.
 *
 * Each part takes its own options, validated when built: {@linkcode createKeySource},
 * {@linkcode createVerifier}, {@linkcode createSessionCheck}, {@linkcode createApiKeyCheck},
 * composed by {@linkcode createAuth}; {@linkcode authFromEnv} builds them all from the
 * platform's variables.
 *
 * @example Authenticate a request with the configuration of the environment
 * ```ts
 * import { ApiError, authFromEnv } from '@edge-auth/edge-auth'
 *
 * const auth = authFromEnv(Deno.env, { require: ['dbUrl'] })
 * Deno.serve(async (request) => {
 *   try {
 *     const { user } = await auth.authenticate(request, { session: 'check' })
 *     return Response.json({ hello: user.email })
 *   } catch (error) {
 *     if (error instanceof ApiError) return Response.json({ error: error.code }, { status: error.status })
 *     throw error
 *   }
 * })
 * ```
 *
 * @module
 */

// Authentication: a request to a verified identity under a route's policy, composed of parts.
export {
  type AcceptedCredential,
  type Auth,
  type AuthOptions,
  type AuthPolicy,
  createAuth,
  type Credential,
} from './auth/authenticate.ts'
export {
  type ApiKeyCheckOptions,
  type ApiKeyKind,
  type ApiKeyMatcher,
  type ApiKeyRequirement,
  createApiKeyCheck,
} from './auth/api_keys.ts'

// The parts from the environment, for the common case.
export {
  type AppDeps,
  type AuthDeps,
  authFor,
  authFromConfig,
  authFromEnv,
  type EnvOptions,
  fromEnv,
  optionsFromConfig,
} from './auth/from_env.ts'

// The verifier and the key sets it verifies with.
export {
  createVerifier,
  type IgnoringExpiryOptions,
  type Verifier,
  type VerifierOptions,
  type VerifyPolicy,
} from './tokens/verify.ts'
export { createKeySource, type KeySourceOptions } from './keys/key_source.ts'
export { type KeyStore, KeysUnavailableError } from './keys/key_store.ts'
export { extractBearer } from './tokens/bearer.ts'

// What a verified token says.
export type {
  AuthClient,
  AuthContext,
  AuthSession,
  AuthUser,
  SupabaseClaims,
} from './tokens/identity.ts'

// The session check, on the database or any store.
export {
  createSessionCheck,
  type SessionCheck,
  type SessionCheckOptions,
} from './sessions/database_session_check.ts'
export {
  createSessionChecker,
  type SessionChecker,
  type SessionCheckerOptions,
} from './sessions/session_check.ts'
export type {
  Revocation,
  RevocationFeed,
  RevocationPage,
  ServiceDeps,
  SessionAnswer,
  SessionState,
  SessionStore,
} from './core/deps.ts'

// Errors, each with its status, code and challenge.
export {
  ApiError,
  type ApiErrorOptions,
  type Challenge,
  type DescriptionKey,
  type ErrorCode,
  insufficientScope,
  invalidApiKey,
  invalidRequest,
  invalidToken,
  noCredentials,
  REALM,
  unavailable,
} from './core/errors.ts'

// Configuration from the environment.
export {
  type ApiKeys,
  type Config,
  ConfigError,
  type EnvReader,
  type JwkInput,
  loadConfig,
  type LoadConfigOptions,
  type RequiredSetting,
} from './core/config.ts'

// Small helpers the functions share.
export { type Clock, systemClock } from './core/clock.ts'
export { isUuid } from './core/uuid.ts'
