// POST /sessions/revoke on the real stack: the secret key in `apikey` alone ends every session of
// a user (the gateway turns that key into a service_role bearer, which the function ignores), the
// user's access tokens are refused by `me` and `notes` within the session cache TTL and their
// refresh tokens die at once; repeats and unknown users get 204; anything but a secret key is 401
// invalid_api_key. A route taking [user, secret] behind the same gateway shows the order rules.
import { assert, assertEquals } from '@std/assert'
import { decodeJwt } from 'jose'
import postgres from 'postgres'
import { createDatabaseClient } from '../../functions/_shared/db/database.ts'
import { authFromConfig } from '../../functions/_shared/auth/from_env.ts'
import { DESCRIPTIONS } from '../../functions/_shared/core/errors.ts'
import {
  createFunctionApp,
  type CredentialEnv,
  requireCredentials,
} from '../../functions/_shared/hono/adapter.ts'
import { createSessionsApp } from '../../functions/sessions/app.ts'
import { startGateway } from '../../supabase/local/gateway.ts'
import { assertAuthError, assertMe, assertNoEcho, credentialBody } from '../_helpers/assert_auth.ts'
import { closedPort } from '../_helpers/local_server.ts'
import { eventually } from '../_helpers/poll.ts'
import { quietly } from '../_helpers/quietly.ts'
import {
  callFunction,
  createTestUser,
  hasAuthServer,
  loginUser,
  requestInit,
  stackConfig,
  testStack,
  type TestUser,
} from '../_helpers/stack.ts'

/** The functions' session cache TTL (their default): the bound on a revocation's delay. */
const SESSION_TTL_MS = 1000

/** Why the tests are skipped, or undefined when they run. */
function skipReason(): string | undefined {
  if (!hasAuthServer) return 'the stack has no auth server'
  const stack = testStack() as Partial<ReturnType<typeof testStack>>
  if (typeof stack.secretKey !== 'string' || typeof stack.publishableKey !== 'string') {
    return 'stack.json has no secretKey/publishableKey (a stack older than the sb_ keys)'
  }
  return undefined
}
const skip = skipReason()
if (skip && hasAuthServer) console.warn(`sessions_revoke_test: skipped: ${skip}`)
const ignore = skip !== undefined

/** Every key and token a response must not contain. */
function secrets(...more: string[]): string[] {
  const stack = testStack()
  return [stack.secretKey, stack.publishableKey, stack.serviceRoleKey, stack.anonKey, ...more]
}

/** `POST /sessions/revoke` through the stack's gateway, with exactly the given headers. */
function revoke(headers: Record<string, string>, body: string | undefined): Promise<Response> {
  return callFunction('sessions/revoke', { method: 'POST', headers, body })
}

/** The secret key alone, as a pg_cron job or an operator's script sends it. */
function asServer(userId: string): Promise<Response> {
  return revoke(
    { apikey: testStack().secretKey, 'Content-Type': 'application/json' },
    JSON.stringify({ user_id: userId }),
  )
}

async function assertNoContent(response: Response): Promise<void> {
  await assertNoEcho(response, secrets())
  const text = await response.text()
  assertEquals(response.status, 204, text)
  assertEquals(text, '')
  assertEquals(response.headers.get('Cache-Control'), 'no-store')
  assertEquals(response.headers.get('WWW-Authenticate'), null)
}

async function assertInvalidApiKey(response: Response, more: string[] = []): Promise<void> {
  await assertNoEcho(response, secrets(...more))
  const text = await response.text()
  assertEquals(response.status, 401, text)
  assertEquals(JSON.parse(text), {
    error: 'invalid_api_key',
    error_description: DESCRIPTIONS.secretKeyRequired,
  })
  assertEquals(response.headers.get('Content-Type'), 'application/json')
  assertEquals(response.headers.get('Cache-Control'), 'no-store')
  // Only a key is accepted here: no Bearer challenge inviting a token.
  assertEquals(response.headers.get('WWW-Authenticate'), null)
}

async function assertBadRequest(
  response: Response,
  status: number,
  error: string,
  description: string,
): Promise<void> {
  await assertNoEcho(response, secrets())
  const text = await response.text()
  assertEquals(response.status, status, text)
  assertEquals(JSON.parse(text), { error, error_description: description })
  assertEquals(response.headers.get('Cache-Control'), 'no-store')
  assertEquals(response.headers.get('WWW-Authenticate'), null)
}

/** The user's rows in auth.sessions and auth.refresh_tokens. */
async function rowsOf(userId: string): Promise<{ sessions: number; refreshTokens: number }> {
  const sql = postgres(testStack().dbUrl, { max: 1, onnotice: () => {} })
  try {
    const [row] = await sql`
      select (select count(*) from auth.sessions where user_id = ${userId})::int as sessions,
             (select count(*) from auth.refresh_tokens where user_id = ${userId}::text)::int
               as refresh_tokens`
    return { sessions: row!.sessions, refreshTokens: row!.refresh_tokens }
  } finally {
    await sql.end()
  }
}

/** Polls a GET with the token until it is 401 `session revoked`; 200 only within the TTL. */
async function refusedWithinTtl(path: string, token: string, since: number): Promise<void> {
  let last = 0
  await eventually(async () => {
    const sentAt = performance.now()
    const response = await callFunction(path, requestInit(undefined, token))
    last = response.status
    if (response.status === 401) {
      await assertAuthError(response, 'BADTOKEN', 'sessionRevoked', secrets(token))
      return true
    }
    assertEquals(response.status, 200, `GET /${path} before the refusal`)
    await response.body?.cancel()
    assert(sentAt - since < SESSION_TTL_MS, `200 from /${path} ${sentAt - since} ms after revoke`)
  }, {
    timeoutMs: SESSION_TTL_MS + 1_000,
    since,
    intervalMs: 100,
    what: `GET /${path} refuses the revoked session`,
    describe: () => `${last}`,
  })
}

Deno.test({
  name:
    'POST /sessions/revoke with only the secret key in apikey -> 204; me and notes refuse every session of the user within the TTL, their refresh tokens get 400, no session or refresh token row is left',
  ignore,
  async fn() {
    const user = await createTestUser()
    const sessions = [await loginUser(user), await loginUser(user)]
    for (const session of sessions) {
      const claims = decodeJwt(session.access_token)
      // A live answer in me's cache: the refusal must still come within its TTL.
      const me = await callFunction('me', requestInit(undefined, session.access_token))
      await assertMe(me, session.access_token, { sub: claims.sub, session_id: claims.session_id })
    }
    assertEquals((await rowsOf(user.id)).sessions, 2)

    const response = await asServer(user.id)
    const since = performance.now()
    await assertNoContent(response)
    assertEquals(await rowsOf(user.id), { sessions: 0, refreshTokens: 0 })
    for (const session of sessions) {
      await refusedWithinTtl('me', session.access_token, since)
      await refusedWithinTtl('notes', session.access_token, since)
      const refreshed = await callFunction(
        'refresh',
        requestInit({ refresh_token: session.refresh_token }),
      )
      await assertBadRequest(refreshed, 400, 'invalid_grant', DESCRIPTIONS.invalidRefreshToken)
    }
  },
})

Deno.test({
  name:
    'POST /sessions/revoke a second time, for a user without sessions, and for an unknown user id -> 204 each (no oracle for which users exist)',
  ignore,
  async fn() {
    const user = await createTestUser()
    await loginUser(user)
    await assertNoContent(await asServer(user.id))
    await assertNoContent(await asServer(user.id))
    const idle = await createTestUser()
    await assertNoContent(await asServer(idle.id))
    await assertNoContent(await asServer(crypto.randomUUID()))
  },
})

Deno.test({
  name:
    'POST /sessions/revoke with a malformed user_id, an extra field, a number, no body, non-JSON, another Content-Type or a query -> 400/415, the user keeps their sessions',
  ignore,
  async fn() {
    const user = await createTestUser()
    await loginUser(user)
    const key = testStack().secretKey
    const json = { apikey: key, 'Content-Type': 'application/json' }
    const field = (text: string) => `user_id: ${text}`
    const cases: [Record<string, string>, string | undefined, number, string, string][] = [
      [json, '{"user_id":"not-a-uuid"}', 400, 'invalid_request', field(DESCRIPTIONS.notUuid)],
      [
        json,
        JSON.stringify({ user_id: user.id.toUpperCase() }),
        400,
        'invalid_request',
        field(DESCRIPTIONS.notUuid),
      ],
      [
        json,
        JSON.stringify({ user_id: `${user.id}0` }),
        400,
        'invalid_request',
        field(DESCRIPTIONS.fieldLength),
      ],
      [
        json,
        JSON.stringify({ user_id: user.id, scope: 'global' }),
        400,
        'invalid_request',
        DESCRIPTIONS.unknownField,
      ],
      [json, '{"user_id":42}', 400, 'invalid_request', field(DESCRIPTIONS.fieldType)],
      [json, '{}', 400, 'invalid_request', field(DESCRIPTIONS.missingField)],
      [json, '[]', 400, 'invalid_request', DESCRIPTIONS.bodyNotObject],
      [json, 'user_id=x', 400, 'invalid_request', DESCRIPTIONS.invalidJson],
      [json, undefined, 400, 'invalid_request', DESCRIPTIONS.invalidJson],
      [
        { apikey: key, 'Content-Type': 'text/plain' },
        JSON.stringify({ user_id: user.id }),
        415,
        'unsupported_media_type',
        DESCRIPTIONS.unsupportedMediaType,
      ],
    ]
    for (const [headers, body, status, error, description] of cases) {
      await assertBadRequest(await revoke(headers, body), status, error, description)
    }
    const query = await callFunction(`sessions/revoke?user_id=${user.id}`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ user_id: user.id }),
    })
    await assertBadRequest(
      query,
      400,
      'invalid_request',
      `user_id: ${DESCRIPTIONS.unknownParameter}`,
    )
    assertEquals((await rowsOf(user.id)).sessions, 1)
  },
})

Deno.test({
  name:
    "POST /sessions/revoke with the publishable key, a wrong key, no key, or the user's own valid access token as Bearer (with or without the publishable key) -> 401 invalid_api_key, nothing ends",
  ignore,
  async fn() {
    const stack = testStack()
    const user = await createTestUser()
    const { access_token: token } = await loginUser(user)
    const body = JSON.stringify({ user_id: user.id })
    const type = { 'Content-Type': 'application/json' }
    const refused: Record<string, string>[] = [
      { ...type, apikey: stack.publishableKey },
      { ...type, apikey: `${stack.secretKey}x` },
      { ...type, apikey: stack.secretKey.slice(0, -1) },
      type,
      { ...type, Authorization: `Bearer ${token}` },
      { ...type, Authorization: `Bearer ${token}`, apikey: stack.publishableKey },
    ]
    for (const headers of refused) await assertInvalidApiKey(await revoke(headers, body), [token])
    assertEquals((await rowsOf(user.id)).sessions, 1)
    const me = await callFunction('me', requestInit(undefined, token))
    assertEquals(me.status, 200)
    await me.body?.cancel()
  },
})

Deno.test({
  name:
    "POST /sessions/revoke with the secret key and any bearer (the user's token, garbage) -> 204: a route taking only the secret key never reads the bearer",
  ignore,
  async fn() {
    const user = await createTestUser()
    const { access_token: token } = await loginUser(user)
    const headers = {
      apikey: testStack().secretKey,
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json',
    }
    await assertNoContent(await revoke(headers, JSON.stringify({ user_id: user.id })))
    const garbage = { ...headers, Authorization: 'Bearer garbage' }
    await assertNoContent(await revoke(garbage, JSON.stringify({ user_id: user.id })))
    assertEquals((await rowsOf(user.id)).sessions, 0)
  },
})

Deno.test({
  name:
    'POST /sessions/revoke with the database unreachable -> 503 temporarily_unavailable with Retry-After (in process)',
  ignore,
  async fn() {
    const sql = createDatabaseClient(
      `postgres://u:p@127.0.0.1:${closedPort()}/db?connect_timeout=2`,
      { max: 1 },
    )
    try {
      const app = createSessionsApp(stackConfig(), { database: () => sql })
      const response = await quietly(async () =>
        await app.request('/sessions/revoke', {
          method: 'POST',
          headers: { apikey: testStack().secretKey, 'Content-Type': 'application/json' },
          body: JSON.stringify({ user_id: crypto.randomUUID() }),
        })
      )
      await assertAuthError(response, 'SESSION_DOWN', 'sessionStoreUnavailable', secrets())
    } finally {
      await sql.end()
    }
  },
})

/** An in-process app with a [user, secret] route on the stack's configuration. */
function userOrSecretApp(seen: (authorization: string | null) => void) {
  // No session cache: a revocation is seen by the next request, so no test has to wait for it.
  const config = stackConfig({ EDGE_AUTH_SESSION_CACHE_TTL_MS: '0' })
  const auth = authFromConfig(config)
  const app = createFunctionApp<CredentialEnv>('whoami', { corsOrigins: '*', methods: ['GET'] })
  app.get('/', requireCredentials(auth, ['user', 'secret']), (c) => {
    seen(c.req.header('Authorization') ?? null)
    return c.json(credentialBody(c.var.credential))
  })
  return app
}

async function assertCredential(response: Response, expected: unknown, more: string[] = []) {
  await assertNoEcho(response, secrets(...more))
  const text = await response.text()
  assertEquals(response.status, 200, text)
  assertEquals(JSON.parse(text), expected)
}

Deno.test({
  name:
    '[user, secret] behind the local gateway: only the secret key in apikey arrives with no Authorization (as CLI 3 forwards it) -> secret; a user token -> user; a revoked user token with the secret key -> 401 session revoked, no fall-through',
  ignore,
  async fn() {
    const stack = testStack()
    const user: TestUser = await createTestUser()
    const { access_token: token } = await loginUser(user)
    let authorization: string | null = null
    const app = userOrSecretApp((value) => authorization = value)
    const upstream = Deno.serve(
      { hostname: '127.0.0.1', port: 0, onListen: () => {} },
      // The gateway forwards `/functions/v1/<name>/…` as is; the app is routed under `/whoami`.
      (request) => {
        const url = new URL(request.url)
        url.pathname = url.pathname.replace(/^\/functions\/v1/, '')
        return app.fetch(new Request(url, request))
      },
    )
    const gateway = startGateway({
      port: 0,
      authUpstream: () => stack.url,
      functionsUpstream: () => `http://127.0.0.1:${upstream.addr.port}`,
      keys: () => stack,
      log: () => {},
    })
    const url = `http://127.0.0.1:${gateway.port}/functions/v1/whoami`
    try {
      const server = await fetch(url, { headers: { apikey: stack.secretKey } })
      await assertCredential(server, { kind: 'secret', name: 'default' })
      // What the test is about: the gateway adds no bearer (the role JWT travels in sb-api-key),
      // so the secret key in apikey alone is the credential.
      assertEquals(authorization, null)

      const asUser = await fetch(url, {
        headers: { apikey: stack.publishableKey, Authorization: `Bearer ${token}` },
      })
      await assertCredential(asUser, { kind: 'user', user: user.id }, [token])

      await assertNoContent(await asServer(user.id))
      // Through the gateway and in process: the token is present and invalid, the key valid.
      for (
        const send of [
          () =>
            fetch(url, { headers: { apikey: stack.secretKey, Authorization: `Bearer ${token}` } }),
          () =>
            Promise.resolve(app.request('/whoami', {
              headers: { apikey: stack.secretKey, Authorization: `Bearer ${token}` },
            })),
        ]
      ) {
        await assertAuthError(await send(), 'BADTOKEN', 'sessionRevoked', secrets(token))
      }
      const nothing = await fetch(url, { headers: { apikey: stack.publishableKey } })
      await assertNoEcho(nothing, secrets())
      assertEquals(nothing.status, 401)
      assertEquals(nothing.headers.get('WWW-Authenticate'), 'Bearer realm="edge-auth"')
      assertEquals(await nothing.json(), {
        error: 'invalid_api_key',
        error_description: DESCRIPTIONS.secretKeyRequired,
      })
    } finally {
      await gateway.shutdown()
      await upstream.shutdown()
    }
  },
})
