/**
 * Access to the local stack the tests run against: `tests/run.ts` boots one and names its
 * stack.json in `EDGE_AUTH_TEST_STACK` (or point that variable at the stack.json of a running
 * `deno task start`).
 *
 * @module
 */
import { decodeJwt, importJWK, type JWTPayload, SignJWT } from 'jose'
import { type Config, loadConfig } from '../../functions/_shared/core/config.ts'
import type { PoolerMode } from '../../supabase/local/pooler.ts'
import { startEphemeralStack } from '../../supabase/local/ephemeral.ts'
import type { LocalStack } from '../../supabase/local/stack.ts'
import type { StackInfo } from '../../supabase/local/state.ts'
import { createClient } from '@supabase/supabase-js'

/** The connection details of the stack under test (the contents of its stack.json). */
export type TestStack = StackInfo

/** A user created for one test. */
export interface TestUser {
  email: string
  password: string
  id: string
}

/** Options for {@linkcode createTestUser}. */
export interface CreateTestUserOptions {
  /** The email (default: a unique one). */
  email?: string
  password?: string
  userMetadata?: Record<string, unknown>
  appMetadata?: Record<string, unknown>
  /** Leave the email unconfirmed (default false: the password grant needs a confirmed one). */
  unconfirmed?: boolean
  /** The stack (default {@linkcode testStack}), e.g. one from {@linkcode startTestStack}. */
  stack?: TestStack
}

/**
 * Reads the stack's stack.json afresh on every call (a key revocation re-issues the API keys).
 *
 * @returns the stack's connection details
 * @throws Error when `EDGE_AUTH_TEST_STACK` is unset or unreadable
 */
export function testStack(): TestStack {
  const path = Deno.env.get('EDGE_AUTH_TEST_STACK')
  if (!path) {
    throw new Error(
      'EDGE_AUTH_TEST_STACK is not set: run the tests through tests/run.ts (it boots a local ' +
        'stack), or set it to the stack.json of a running stack (.local/stack.json)',
    )
  }
  try {
    return JSON.parse(Deno.readTextFileSync(path)) as TestStack
  } catch (err) {
    throw new Error(`Cannot read the stack file ${path}: ${(err as Error).message}`)
  }
}

/**
 * Whether the stack runs the real auth server. Auth-dependent tests pass
 * `ignore: !hasAuthServer`, so a developer without the auth binary still runs the rest; the test
 * runner says once why they are ignored, and under CI refuses to run without it.
 */
export const hasAuthServer: boolean = detectAuthServer()

function detectAuthServer(): boolean {
  if (!Deno.env.get('EDGE_AUTH_TEST_STACK')) return false
  try {
    return testStack().authServer
  } catch {
    return false
  }
}

/**
 * Calls the stack's test-control API (`POST /_stack/<action>`).
 *
 * @param action e.g. `auth/stop`, `auth/keys`, `functions/restart`
 * @param body JSON body, e.g. `{ phase: 'rotate' }` for `auth/keys`
 * @param stack the stack (default {@linkcode testStack}), e.g. one from {@linkcode startTestStack}
 * @returns the JSON answer
 * @throws Error when the stack has no control API or the action fails
 */
export async function stackControl(
  action: string,
  body?: unknown,
  stack: TestStack = testStack(),
): Promise<unknown> {
  if (!stack.controlToken) throw new Error('This stack has no test-control API')
  const response = await fetch(`${stack.url}/_stack/${action}`, {
    method: 'POST',
    headers: { 'x-stack-control': stack.controlToken, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`Control action ${action} failed (${response.status}): ${text}`)
  return JSON.parse(text)
}

/**
 * A request to the auth server's admin API (`/auth/v1/admin/<path>`) with the secret key, as a
 * server of today sends it: `apikey` only (the gateway gives the auth server its service_role JWT),
 * so it works whether or not the stack has legacy keys.
 *
 * @param path e.g. `users` or `users/<id>`
 * @param init method and body (JSON)
 * @param stack the stack (default {@linkcode testStack})
 * @returns the response
 */
export function authAdmin(
  path: string,
  init: RequestInit,
  stack: TestStack = testStack(),
): Promise<Response> {
  return fetch(`${stack.url}/auth/v1/admin/${path}`, {
    ...init,
    headers: { apikey: stack.secretKey, 'Content-Type': 'application/json' },
  })
}

/**
 * Bans a user through the admin API (`ban_duration`, e.g. `24h` or `2s`).
 *
 * @param userId the user
 * @param duration how long, in the auth server's duration syntax
 * @param stack the stack (default {@linkcode testStack})
 * @throws Error unless the auth server answers 200
 */
export async function banUser(
  userId: string,
  duration: string,
  stack: TestStack = testStack(),
): Promise<void> {
  const response = await authAdmin(`users/${userId}`, {
    method: 'PUT',
    body: JSON.stringify({ ban_duration: duration }),
  }, stack)
  const text = await response.text()
  if (response.status !== 200) {
    throw new Error(`Cannot ban a test user (${response.status}): ${text}`)
  }
}

/**
 * Creates a confirmed user with a unique email through the auth admin API.
 *
 * @param options password and metadata
 * @returns the credentials and the user id
 * @throws Error when the auth server refuses
 */
export async function createTestUser(options: CreateTestUserOptions = {}): Promise<TestUser> {
  const stack = options.stack ?? testStack()
  const email = options.email ?? `test-${crypto.randomUUID()}@example.com`
  const password = options.password ?? `pw-${crypto.randomUUID()}`
  const response = await authAdmin('users', {
    method: 'POST',
    body: JSON.stringify({
      email,
      password,
      // The admin API ignores autoconfirm: without this the password grant is refused.
      email_confirm: !options.unconfirmed,
      user_metadata: options.userMetadata,
      app_metadata: options.appMetadata,
    }),
  }, stack)
  const text = await response.text()
  if (!response.ok) throw new Error(`Cannot create a test user (${response.status}): ${text}`)
  return { email, password, id: (JSON.parse(text) as { id: string }).id }
}

/**
 * A request to a function through the stack's gateway.
 *
 * @param path the function and the rest, e.g. `me` or `notes?limit=2`
 * @param init method, headers, body
 * @param stack the stack (default {@linkcode testStack})
 * @returns the response
 */
export function callFunction(
  path: string,
  init: RequestInit = {},
  stack: TestStack = testStack(),
): Promise<Response> {
  return fetch(`${stack.functionsUrl}/${path}`, init)
}

/**
 * Request options: a JSON body (when given) and a bearer token (when given).
 *
 * @param body the value to send as JSON, or undefined for none
 * @param token the access token, or undefined for none
 * @param method the method (default POST with a body, GET without)
 * @returns the options for `fetch`
 */
export function requestInit(body?: unknown, token?: string, method?: string): RequestInit {
  const headers: Record<string, string> = {}
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  if (token !== undefined) headers.Authorization = `Bearer ${token}`
  return {
    method: method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  }
}

/** The tokens of a session, as `login` and `refresh` answer them. */
export interface SessionTokens {
  access_token: string
  refresh_token: string
}

/**
 * Logs a user in through the `login` function.
 *
 * @param user the credentials
 * @param stack the stack (default {@linkcode testStack})
 * @returns the session
 * @throws Error unless the answer is 200
 */
export async function loginUser(user: TestUser, stack: TestStack = testStack()) {
  const response = await callFunction(
    'login',
    requestInit({ email: user.email, password: user.password }),
    stack,
  )
  const text = await response.text()
  if (response.status !== 200) throw new Error(`login answered ${response.status}: ${text}`)
  return JSON.parse(text) as SessionTokens
}

/**
 * A supabase-js client on the stack's publishable key, straight through the gateway to the auth
 * server as a browser or app would call it; its session is kept in memory and never refreshed.
 *
 * @param stack the stack (default {@linkcode testStack})
 * @returns the client
 */
export function supabaseJsClient(stack: TestStack = testStack()) {
  return createClient(stack.url, stack.publishableKey, {
    auth: { persistSession: false, autoRefreshToken: false },
  })
}

/**
 * Signs a user in with {@linkcode supabaseJsClient}.
 *
 * @param user the user
 * @param stack the stack (default {@linkcode testStack})
 * @returns what `signInWithPassword` returned
 */
export function signInWithSupabaseJs(user: TestUser, stack: TestStack = testStack()) {
  return supabaseJsClient(stack).auth.signInWithPassword({
    email: user.email,
    password: user.password,
  })
}

/**
 * Mints an access token with the stack's current signing key (test stacks publish its path):
 * valid claims for a session that does not exist, with overrides.
 *
 * @param overrides claims to set (e.g. a past `exp`)
 * @param stack the stack (default {@linkcode testStack})
 * @returns the token
 * @throws Error when the stack does not publish its signing key
 */
export async function mintToken(
  overrides: JWTPayload = {},
  stack: TestStack = testStack(),
): Promise<string> {
  if (!stack.signingKeyPath) throw new Error('This stack does not publish its signing key')
  const jwk = JSON.parse(await Deno.readTextFile(stack.signingKeyPath))
  const key = await importJWK({ ...jwk, key_ops: undefined }, 'ES256')
  const now = Math.floor(Date.now() / 1000)
  const claims: JWTPayload = {
    iss: stack.issuer,
    aud: 'authenticated',
    sub: crypto.randomUUID(),
    session_id: crypto.randomUUID(),
    role: 'authenticated',
    is_anonymous: false,
    aal: 'aal1',
    iat: now,
    exp: now + 600,
    ...overrides,
  }
  return await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: jwk.kid, typ: 'JWT' })
    .sign(key)
}

/**
 * The same user and session as `accessToken`, signed with the stack's key, expired a minute ago:
 * what a client holds when its session outlives its access token (the logout's SQL path).
 *
 * @param accessToken a real access token of the stack
 * @param stack the stack (default {@linkcode testStack})
 * @returns the expired token
 */
export async function expiredTokenFor(
  accessToken: string,
  stack: TestStack = testStack(),
): Promise<string> {
  const { sub, session_id } = decodeJwt(accessToken)
  const now = Math.floor(Date.now() / 1000)
  return await mintToken({ sub, session_id, iat: now - 120, exp: now - 60 }, stack)
}

/**
 * The configuration the stack's functions get from their environment, for an in-process instance
 * of the library that talks to the stack's JWKS and PostgreSQL.
 *
 * @param vars more variables (e.g. shorter JWKS timings)
 * @param stack the stack (default {@linkcode testStack})
 * @returns the configuration
 */
export function stackConfig(
  vars: Record<string, string> = {},
  stack: TestStack = testStack(),
): Config {
  // The variables the stack gives its functions (without the inline key set: keys are fetched).
  const env: Record<string, string> = {
    SUPABASE_URL: stack.url,
    SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: stack.publishableKey }),
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: stack.secretKey }),
    ...(stack.legacyKeys
      ? { SUPABASE_ANON_KEY: stack.anonKey, SUPABASE_SERVICE_ROLE_KEY: stack.serviceRoleKey }
      : {}),
    SUPABASE_DB_URL: stack.functionsDbUrl,
    EDGE_AUTH_JWKS_URL: stack.jwksUrl,
    EDGE_AUTH_JWT_ISSUER: stack.issuer,
    ...vars,
  }
  return loadConfig({ get: (name) => env[name] })
}

/** Options of {@linkcode startTestStack}. */
export interface TestStackOptions {
  /** More variables for the functions (e.g. shorter JWKS timings). */
  functionsEnv?: Record<string, string>
  /** More `GOTRUE_*` settings for the auth server (e.g. a low rate limit). */
  authEnv?: Record<string, string>
  /** Access-token lifetime in seconds (default 3600). */
  jwtExp?: number
  /** Put PgBouncer in transaction mode before the functions' database (default: the lane's). */
  pooler?: PoolerMode
}

/** A stack of one test's own, and the temporary directory it lives in. */
export interface DedicatedStack {
  stack: LocalStack
  /** The current stack.json contents (keys change after a revocation). */
  readonly info: TestStack
  /** Stops the stack (if still running) and deletes its directory. */
  dispose(): Promise<void>
}

/**
 * Starts a small ephemeral stack for one test, like the one `tests/run.ts` starts (temporary
 * directory, free ports, the signing key published), for tests that stop its parts, change its
 * settings or stop it altogether: the shared stack stays untouched for the other test files.
 * Call it only where {@linkcode hasAuthServer} is true; it never installs the auth server.
 *
 * @param options extra settings for the functions and the auth server
 * @returns the stack; call `dispose()` in a `finally`
 */
export async function startTestStack(options: TestStackOptions = {}): Promise<DedicatedStack> {
  const { stack, dispose } = await startEphemeralStack({
    ...options,
    requireAuth: false,
    installAuth: false,
  })
  return {
    stack,
    get info() {
      return stack.info
    },
    dispose,
  }
}
