// `requireUser` mounted in a plain `new Hono()`, with no `onError` and none of edge-auth's app
// factory: what it throws renders itself (Hono's default error handler takes `getResponse()`), so
// every refusal keeps its status, JSON body and `WWW-Authenticate`. The same app against the real
// stack is in tests/integration/user_project_test.ts.
import { assertEquals } from '@std/assert'
import { type Context, type Handler, Hono } from 'hono'
import fc from 'fast-check'
import { DESCRIPTIONS } from '../../functions/_shared/core/errors.ts'
import { type AuthEnv, requireUser } from '../../functions/_shared/hono/adapter.ts'
import { assertAuthError } from '../_helpers/assert_auth.ts'
import { componentAuth } from '../_helpers/component_auth.ts'
import { capturingErrors } from '../_helpers/quietly.ts'
import { ManualClock } from '../_helpers/jwks_server.ts'
import { claims, generateKeyPair, sign } from '../_helpers/keys.ts'

const key = await generateKeyPair('ES256')
const stranger = await generateKeyPair('ES256', key.kid)

type SessionAnswer = 'live' | 'gone' | 'down'

/** A user's own app: edge-auth's middleware on its routes, nothing else of edge-auth. */
function userApp(answer: () => SessionAnswer) {
  const clock = new ManualClock()
  // Each part from its own options, as a user's project builds them.
  const auth = componentAuth(key, () => {
    const state = answer()
    return state === 'down' ? Promise.reject(new Error('store down')) : Promise.resolve(state)
  }, clock)
  const app = new Hono<AuthEnv>()
  app.use('/api/*', requireUser(auth, { session: 'check' }))
  app.get('/api/me', (c) => c.json({ id: c.var.auth.user.id }))
  return { app, clock }
}

Deno.test('plain Hono + requireUser, a live session -> 200 from the route', async () => {
  const { app, clock } = userApp(() => 'live')
  const c = claims({}, clock.now())
  const response = await app.request('/api/me', {
    headers: { Authorization: `Bearer ${await sign(key, c)}` },
  })
  assertEquals(response.status, 200)
  assertEquals(await response.json(), { id: c.sub })
})

Deno.test('plain Hono + requireUser, no Authorization -> 401 unauthorized with a bare Bearer challenge', async () => {
  const { app } = userApp(() => 'live')
  await assertAuthError(await app.request('/api/me'), 'NOCRED', 'missingCredentials')
})

Deno.test('plain Hono + requireUser, generated bad tokens -> 401 invalid_token with error="invalid_token"', async () => {
  const { app, clock } = userApp(() => 'live')
  const base = claims({}, clock.now())
  const now = Math.floor(clock.now() / 1000)
  const cases: [string, keyof typeof DESCRIPTIONS][] = [
    [await sign(stranger, base), 'badSignature'],
    [await sign(key, { ...base, exp: now - 3600, iat: now - 7200 }), 'tokenExpired'],
    ['abc.def', 'malformedToken'],
  ]
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...cases), async ([token, description]) => {
      const response = await app.request('/api/me', {
        headers: { Authorization: `Bearer ${token}` },
      })
      await assertAuthError(response, 'BADTOKEN', description, [token])
    }),
    { numRuns: 12 },
  )
})

Deno.test('plain Hono + requireUser, a session that ended -> 401 session revoked', async () => {
  const { app, clock } = userApp(() => 'gone')
  const token = await sign(key, claims({}, clock.now()))
  const response = await app.request('/api/me', { headers: { Authorization: `Bearer ${token}` } })
  await assertAuthError(response, 'BADTOKEN', 'sessionRevoked', [token])
})

Deno.test('plain Hono + requireUser, the session store down -> 503 with Retry-After, no challenge', async () => {
  const { app, clock } = userApp(() => 'down')
  const token = await sign(key, claims({}, clock.now()))
  const response = await app.request('/api/me', { headers: { Authorization: `Bearer ${token}` } })
  await assertAuthError(response, 'SESSION_DOWN', 'sessionStoreUnavailable', [token])
})

Deno.test('plain Hono + requireUser, a token in the query -> 400 invalid_request', async () => {
  const { app, clock } = userApp(() => 'live')
  const token = await sign(key, claims({}, clock.now()))
  const response = await app.request(`/api/me?access_token=${token}`, {
    headers: { Authorization: `Bearer ${token}` },
  })
  await assertAuthError(response, 'BADREQ', 'multipleMethods', [token])
})

Deno.test("plain Hono + requireUser, a route that returns no response -> Hono's 500, a Response for a new token and for a cached one", async () => {
  const { app, clock } = userApp(() => 'live')
  // A JavaScript route that forgot its `return` (TypeScript would refuse it).
  const forgetful = (c: Context<AuthEnv>) => {
    c.json({ id: c.var.auth.user.id })
  }
  app.get('/api/forgetful', forgetful as unknown as Handler<AuthEnv>)
  const token = await sign(key, claims({}, clock.now()))
  // The first request verifies the token; the second finds it, and its session, in the caches.
  for (const round of ['new token', 'cached token']) {
    const [response, logged] = await capturingErrors(() =>
      app.request('/api/forgetful', { headers: { Authorization: `Bearer ${token}` } })
    )
    assertEquals(response instanceof Response, true, round)
    assertEquals(logged.length, 1, `${round}: Hono logs what went wrong`)
    assertEquals(response.status, 500, round)
    assertEquals(response.headers.get('www-authenticate'), null, round)
    await response.body?.cancel()
  }
})
