/**
 * Every function's app in process, with the routes each one serves, for the tests of rules that
 * hold on every route (the query rule, the body rules): one configuration with an inline key, a
 * secret key and an auth server nobody listens on, one authentication service whose sessions are
 * all live, and a valid access token. Nothing here reaches a database or an auth server unless a
 * request gets past every check before them.
 *
 * @module
 */
import type { Hono } from 'hono'
import { type Auth } from '../../functions/_shared/auth/authenticate.ts'
import { authFromConfig } from '../../functions/_shared/auth/from_env.ts'
import type { Config } from '../../functions/_shared/core/config.ts'
import { createHealthApp } from '../../functions/health/app.ts'
import { createLoginApp } from '../../functions/login/app.ts'
import { createLogoutApp } from '../../functions/logout/app.ts'
import { createMeApp } from '../../functions/me/app.ts'
import { createNotesApp } from '../../functions/notes/app.ts'
import { createRefreshApp } from '../../functions/refresh/app.ts'
import { createSessionsApp } from '../../functions/sessions/app.ts'
import { ManualClock, testConfig } from './jwks_server.ts'
import { claims, generateKeyPair, ISSUER, jwksOf, sign } from './keys.ts'
import { closedPort } from './local_server.ts'

/** The functions, by the name of their folder. */
export type FunctionName =
  | 'health'
  | 'login'
  | 'refresh'
  | 'logout'
  | 'me'
  | 'notes'
  | 'sessions'

/** One route: how a request reaches it and what it takes. */
export interface Route {
  fn: FunctionName
  method: string
  /** The route as added to its app, under the function's base path (`/notes/:id`). */
  pattern: string
  /** A path that reaches it. */
  path: string
  /** The query parameters it takes. */
  parameters: readonly string[]
  /** Whether it reads a JSON body, and what its fields are limited to, in characters. */
  body?: Readonly<Record<string, number>>
  /** How a request must authenticate to reach the route's own checks. */
  credential: 'none' | 'bearer' | 'secret'
}

/**
 * Every route of every function, as the contract lists them. `tests/unit/query_rule_test.ts`
 * checks that the apps serve exactly these.
 */
export const ROUTES: readonly Route[] = [
  {
    fn: 'health',
    method: 'GET',
    pattern: '/health',
    path: '/health',
    parameters: [],
    credential: 'none',
  },
  {
    fn: 'login',
    method: 'POST',
    pattern: '/login',
    path: '/login',
    parameters: [],
    body: { email: 320, password: 1024 },
    credential: 'none',
  },
  {
    fn: 'refresh',
    method: 'POST',
    pattern: '/refresh',
    path: '/refresh',
    parameters: [],
    body: { refresh_token: 1024 },
    credential: 'none',
  },
  {
    fn: 'logout',
    method: 'POST',
    pattern: '/logout',
    path: '/logout',
    parameters: ['scope'],
    credential: 'bearer',
  },
  { fn: 'me', method: 'GET', pattern: '/me', path: '/me', parameters: [], credential: 'bearer' },
  {
    fn: 'notes',
    method: 'GET',
    pattern: '/notes',
    path: '/notes',
    parameters: ['limit', 'cursor'],
    credential: 'bearer',
  },
  {
    fn: 'notes',
    method: 'POST',
    pattern: '/notes',
    path: '/notes',
    parameters: [],
    body: { body: 4000 },
    credential: 'bearer',
  },
  {
    fn: 'notes',
    method: 'DELETE',
    pattern: '/notes/:id',
    path: '/notes/00000000-0000-4000-8000-000000000000',
    parameters: [],
    credential: 'bearer',
  },
  {
    fn: 'sessions',
    method: 'POST',
    pattern: '/sessions/revoke',
    path: '/sessions/revoke',
    parameters: [],
    body: { user_id: 36 },
    credential: 'secret',
  },
]

/** The routes that read a JSON body. */
export const BODY_ROUTES: readonly Route[] = ROUTES.filter((route) => route.body !== undefined)

/** The secret key of {@linkcode FunctionApps}. */
export const SECRET_KEY = 'sb_secret_default_0123456789abcdefghijk'

/** The apps and what a request needs to get past their authentication. */
export interface FunctionApps {
  apps: Record<FunctionName, Hono>
  config: Config
  auth: Auth
  /** An access token of a live session, valid for the apps' key and clock. */
  token: string
  /** The headers that authenticate a request to `route` (none for a public route). */
  credentials(route: Route): Record<string, string>
}

/**
 * Builds every function's app on one configuration.
 *
 * @returns the apps, a valid token and the secret key's headers
 */
export async function functionApps(): Promise<FunctionApps> {
  const key = await generateKeyPair('ES256')
  const config = testConfig({
    SUPABASE_URL: `http://127.0.0.1:${closedPort()}`,
    EDGE_AUTH_JWT_ISSUER: ISSUER,
    SUPABASE_JWKS: JSON.stringify(jwksOf(key)),
    SUPABASE_ANON_KEY: 'anon-key-for-tests',
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: SECRET_KEY }),
    EDGE_AUTH_UPSTREAM_TIMEOUT_MS: '500',
  })
  const clock = new ManualClock()
  const auth = authFromConfig(config, { sessionStore: () => Promise.resolve('live'), clock })
  const deps = { auth, clock }
  const token = await sign(key, claims({}, clock.now()))
  return {
    apps: {
      health: createHealthApp(config, deps),
      login: createLoginApp(config, { clock }) as Hono,
      refresh: createRefreshApp(config) as Hono,
      logout: createLogoutApp(config, deps) as unknown as Hono,
      me: createMeApp(config, deps) as unknown as Hono,
      notes: createNotesApp(config, deps) as unknown as Hono,
      sessions: createSessionsApp(config, deps) as unknown as Hono,
    },
    config,
    auth,
    token,
    credentials(route): Record<string, string> {
      if (route.credential === 'bearer') return { Authorization: `Bearer ${token}` }
      if (route.credential === 'secret') return { apikey: SECRET_KEY }
      return {}
    },
  }
}
