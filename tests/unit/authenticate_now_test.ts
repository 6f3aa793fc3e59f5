// The synchronous fast path `requireUser` takes: `authenticateNow` gives the identity itself, with
// no promise, exactly when the token is cached and its session answer fresh; anything left to wait
// for (a first verification, a session not asked about, a stale answer) is a promise. It answers
// as `authenticate` does either way, refusals included.
import { assert, assertEquals, assertRejects, assertThrows } from '@std/assert'
import fc from 'fast-check'
import type { AuthPolicy } from '../../functions/_shared/mod.ts'
import { ApiError } from '../../functions/_shared/core/errors.ts'
import { componentAuth } from '../_helpers/component_auth.ts'
import { ManualClock } from '../_helpers/jwks_server.ts'
import { claims, generateKeyPair, sign } from '../_helpers/keys.ts'

const key = await generateKeyPair('ES256')

function setUp(liveSessions: Set<string>) {
  const clock = new ManualClock()
  const auth = componentAuth(
    key,
    (sessionId) => Promise.resolve(liveSessions.has(sessionId) ? 'live' : 'gone'),
    clock,
  )
  return { auth, clock }
}

const request = (token: string) =>
  new Request('http://localhost/me', { headers: { Authorization: `Bearer ${token}` } })

Deno.test('authenticateNow: generated policies -> a promise the first time, the identity itself once token and session answer are cached, a promise again once the answer is stale', async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom<AuthPolicy['session']>('check', 'token'), async (session) => {
      const c = claims({}, Date.now())
      const { auth, clock } = setUp(new Set([c.session_id as string]))
      const policy: AuthPolicy = { session }
      const token = await sign(key, c)
      const first = auth.authenticateNow(request(token), policy)
      assert(first instanceof Promise, 'a first verification is awaited')
      assertEquals((await first).user.id, c.sub)
      const cached = auth.authenticateNow(request(token), policy)
      assert(!(cached instanceof Promise), 'cached: no promise')
      assertEquals(cached.user.id, c.sub)
      clock.advance(1000)
      const later = auth.authenticateNow(request(token), policy)
      // Only the session answer goes stale; the token stays cached until its exp.
      assertEquals(later instanceof Promise, session === 'check')
      assertEquals((await later).user.id, c.sub)
    }),
    { numRuns: 6 },
  )
})

Deno.test('authenticateNow: refusals are those of authenticate, thrown at once when nothing is awaited', async () => {
  const c = claims({}, Date.now())
  const { auth } = setUp(new Set())
  const token = await sign(key, c)
  // A session that ended: the store is asked (a promise), which rejects as authenticate does.
  await assertRejects(
    async () => await auth.authenticateNow(request(token), { session: 'check' }),
    ApiError,
    'session revoked',
  )
  await assertRejects(() => auth.authenticate(request(token), { session: 'check' }), ApiError)
  // Now cached as gone: thrown at once.
  const error = assertThrows(() => auth.authenticateNow(request(token), { session: 'check' }))
  assert(error instanceof ApiError && error.descriptionKey === 'sessionRevoked')
  // No credentials: a promise (the body may hold a token), rejected with 401 unauthorized.
  const none = await Promise.resolve(auth.authenticateNow(new Request('http://localhost/'), {
    session: 'token',
  })).catch((e) => e)
  assert(none instanceof ApiError && none.code === 'unauthorized')
})
