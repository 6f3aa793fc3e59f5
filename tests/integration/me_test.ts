// The `me` function and the verification core against the real local stack: the real auth
// server's tokens and JWKS, real PostgreSQL behind the session check, and key rotation.
import { assert, assertEquals } from '@std/assert'
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose'
import { authFromConfig } from '../../functions/_shared/auth/from_env.ts'
import { createDatabaseClient } from '../../functions/_shared/db/database.ts'
import { ApiError } from '../../functions/_shared/core/errors.ts'
import { createSessionChecker } from '../../functions/_shared/sessions/session_check.ts'
import { databaseSessionStore } from '../../functions/_shared/sessions/session_store.ts'
import { assertAuthError, assertMe } from '../_helpers/assert_auth.ts'
import { countingFetch, ManualClock } from '../_helpers/jwks_server.ts'
import { eventually } from '../_helpers/poll.ts'
import {
  authAdmin,
  banUser,
  createTestUser,
  hasAuthServer,
  mintToken,
  stackConfig,
  stackControl,
  testStack,
  type TestUser,
} from '../_helpers/stack.ts'

const ignore = !hasAuthServer
// The functions' default session cache TTL: the stack starts them without overrides.
const SESSION_TTL_MS = 1000
/** Room on a loaded machine for the request that observes a change after the TTL. */
const MARGIN_MS = 1000

interface Tokens {
  access_token: string
  refresh_token: string
}

async function login(user: TestUser): Promise<Tokens> {
  const stack = testStack()
  const response = await fetch(`${stack.url}/auth/v1/token?grant_type=password`, {
    method: 'POST',
    headers: { apikey: stack.publishableKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: user.email, password: user.password }),
  })
  assertEquals(response.status, 200, await response.clone().text())
  return await response.json()
}

function me(token: string): Promise<Response> {
  return fetch(`${testStack().functionsUrl}/me`, { headers: { Authorization: `Bearer ${token}` } })
}

/**
 * Polls `GET /me` until it is no longer 200. `since` is when the cause (a logout, a ban, a stop)
 * was answered: me may reuse a "live" answer asked before it for the session cache TTL, never
 * longer, so a 200 is allowed only for a request sent within the TTL after `since`.
 *
 * @returns the first other answer
 */
async function untilRefused(token: string, since: number): Promise<Response> {
  const { value } = await eventually(async () => {
    const sentAt = performance.now()
    const response = await me(token)
    if (response.status !== 200) return response
    await response.body?.cancel()
    const late = sentAt - since
    assert(late < SESSION_TTL_MS, `200 for a request sent ${Math.round(late)} ms after the cause`)
  }, {
    timeoutMs: SESSION_TTL_MS + MARGIN_MS,
    since,
    what: 'GET /me stops answering 200 after the session cache TTL',
  })
  return value
}

Deno.test({
  name: 'a real login token -> GET /me 200 with the identity and session of that login',
  ignore,
  async fn() {
    const user = await createTestUser({ userMetadata: { name: 'Ada' } })
    const { access_token } = await login(user)
    const claims = decodeJwt(access_token)
    assertEquals((claims.user_metadata as { name?: unknown }).name, 'Ada')
    const body = await assertMe(await me(access_token), access_token, {
      sub: user.id,
      session_id: claims.session_id,
    })
    assertEquals(body.user, {
      id: user.id,
      email: user.email,
      role: 'authenticated',
      aal: 'aal1',
      is_anonymous: false,
      app_metadata: claims.app_metadata,
      user_metadata: claims.user_metadata,
    } as never)
    assertEquals(body.session, {
      id: claims.session_id,
      issued_at: claims.iat,
      expires_at: claims.exp,
    } as never)
  },
})

Deno.test({
  name: 'S01 logout on the auth server -> the same token gets 401 session revoked within the TTL',
  ignore,
  async fn(t) {
    for (const scope of ['global', 'local']) {
      await t.step(`scope=${scope}, right after a 200 for that token`, async () => {
        const user = await createTestUser()
        const { access_token } = await login(user)
        const claims = decodeJwt(access_token)
        await assertMe(await me(access_token), access_token, {
          sub: user.id,
          session_id: claims.session_id,
        })
        const logout = await fetch(`${testStack().url}/auth/v1/logout?scope=${scope}`, {
          method: 'POST',
          headers: { apikey: testStack().publishableKey, Authorization: `Bearer ${access_token}` },
        })
        const loggedOutAt = performance.now()
        assertEquals(logout.status, 204)
        const response = await untilRefused(access_token, loggedOutAt)
        await assertAuthError(response, 'BADTOKEN', 'sessionRevoked', [
          access_token,
          user.id,
          String(claims.session_id),
          user.email,
        ])
      })
    }
  },
})

Deno.test({
  name: 'S03/S04 a deleted or a banned user -> 401 session revoked on the session-checked route',
  ignore,
  async fn(t) {
    await t.step('deleted', async () => {
      const user = await createTestUser()
      const { access_token } = await login(user)
      const ids = { sub: user.id, session_id: decodeJwt(access_token).session_id }
      await assertMe(await me(access_token), access_token, ids)
      const deleted = await authAdmin(`users/${user.id}`, { method: 'DELETE' })
      const deletedAt = performance.now()
      assertEquals(deleted.status, 200, await deleted.text())
      const response = await untilRefused(access_token, deletedAt)
      await assertAuthError(response, 'BADTOKEN', 'sessionRevoked', [access_token])
    })
    await t.step('banned', async () => {
      const user = await createTestUser()
      const { access_token } = await login(user)
      const ids = { sub: user.id, session_id: decodeJwt(access_token).session_id }
      await assertMe(await me(access_token), access_token, ids)
      await banUser(user.id, '24h')
      const response = await untilRefused(access_token, performance.now())
      await assertAuthError(response, 'BADTOKEN', 'sessionRevoked', [access_token])
    })
  },
})

Deno.test({
  name:
    'tokens minted with the stack key: expired, foreign iss, wrong aud -> 401; role anon -> 403',
  ignore: ignore || !testStack().signingKeyPath,
  async fn() {
    const now = Math.floor(Date.now() / 1000)
    const expired = await mintToken({ iat: now - 600, exp: now - 60 })
    await assertAuthError(await me(expired), 'BADTOKEN', 'tokenExpired', [expired])
    for (const overrides of [{ iss: 'https://evil.example/auth/v1' }, { aud: 'anon' }]) {
      const token = await mintToken(overrides)
      await assertAuthError(await me(token), 'BADTOKEN', 'badClaims', [token])
    }
    const anon = await mintToken({ role: 'anon' })
    await assertAuthError(await me(anon), 'SCOPE', 'roleNotAllowed', [anon])
    // A well-formed token for a session that never existed: valid signature, dead session.
    const ghost = await mintToken({})
    await assertAuthError(await me(ghost), 'BADTOKEN', 'sessionRevoked', [ghost])
  },
})

Deno.test({
  name:
    'session check on real PostgreSQL: live -> live, another user -> refused, unknown or deleted -> gone, banned -> refused',
  ignore,
  async fn() {
    const config = stackConfig()
    const sql = createDatabaseClient(config.dbUrl!, { timeoutMs: config.dbTimeoutMs })
    try {
      const query = databaseSessionStore(() => sql)
      const user = await createTestUser()
      const { access_token } = await login(user)
      const sessionId = String(decodeJwt(access_token).session_id)
      assertEquals(await query(sessionId, user.id), 'live')
      assertEquals(await query(sessionId, crypto.randomUUID()), 'refused')
      assertEquals(await query(crypto.randomUUID(), user.id), 'gone')
      await sql`update auth.users set banned_until = now() + interval '1 hour' where id = ${user.id}`
      assertEquals(await query(sessionId, user.id), 'refused')
      await sql`update auth.users set banned_until = null where id = ${user.id}`
      assertEquals(await query(sessionId, user.id), 'live')
      await sql`delete from auth.sessions where id = ${sessionId}::uuid`
      assertEquals(await query(sessionId, user.id), 'gone')
    } finally {
      await sql.end()
    }
  },
})

Deno.test({
  name:
    'PostgreSQL stopped -> 503 + Retry-After (fail closed); started again -> 200 without a restart',
  ignore,
  async fn() {
    const config = stackConfig()
    const user = await createTestUser()
    const { access_token } = await login(user)
    const sessionId = String(decodeJwt(access_token).session_id)
    const sql = createDatabaseClient(config.dbUrl!, { timeoutMs: config.dbTimeoutMs })
    const sessions = createSessionChecker({
      query: databaseSessionStore(() => sql),
      ttlMs: 0,
      size: 10,
    })
    try {
      await assertMe(await me(access_token), access_token, { sub: user.id, session_id: sessionId })
      assertEquals(await sessions.isActive(sessionId, user.id), true)
      await stackControl('postgres/stop')
      const stoppedAt = performance.now()
      try {
        // The function's cached "live" answer runs out first; then it fails closed.
        const response = await untilRefused(access_token, stoppedAt)
        await assertAuthError(response, 'SESSION_DOWN', 'sessionStoreUnavailable', [access_token])
        const error = await Promise.resolve(sessions.isActive(sessionId, user.id)).catch((e) => e)
        assert(error instanceof ApiError && error.status === 503)
      } finally {
        await stackControl('postgres/start')
      }
      // Reconnecting takes a moment: only 503 until the first 200.
      const { value: recovered } = await eventually(async () => {
        const response = await me(access_token)
        if (response.status === 200) return response
        await assertAuthError(response, 'SESSION_DOWN', 'sessionStoreUnavailable', [access_token])
      }, {
        timeoutMs: 10_000,
        intervalMs: 200,
        what: 'GET /me answers 200 after PostgreSQL restarts',
      })
      await assertMe(recovered, access_token, { sub: user.id, session_id: sessionId })
      assertEquals(await sessions.isActive(sessionId, user.id), true)
    } finally {
      await sql.end()
    }
  },
})

Deno.test({
  name:
    'key rotation on the real auth server (standby -> rotate -> revoke): both keys pass with at most one refetch, then the revoked key fails after a refresh; never a 5xx',
  ignore,
  async fn(t) {
    const user = await createTestUser()
    const timing = { EDGE_AUTH_JWKS_COOLDOWN_MS: '1000', EDGE_AUTH_JWKS_CACHE_MAX_AGE_MS: '5000' }
    const config = stackConfig(timing)
    const clock = new ManualClock()
    const early = countingFetch()
    const earlyAuth = authFromConfig(config, { fetch: early.fetch, clock })
    const kidOf = (token: string) => decodeProtectedHeader(token).kid

    const before = (await login(user)).access_token
    await earlyAuth.verify(before)
    assertEquals(early.calls, 1)

    await stackControl('auth/keys', { phase: 'standby' })
    // Instances that start now see the standby key before it signs anything: the in-process one,
    // and the me function (restarted: what waiting out its cache age would do, in less time).
    const late = countingFetch()
    const lateAuth = authFromConfig(config, { fetch: late.fetch, clock })
    await lateAuth.verify(before)
    await stackControl('functions/restart')
    assertEquals((await me(before)).status, 200)
    await stackControl('auth/keys', { phase: 'rotate' })
    const after = (await login(user)).access_token
    assert(kidOf(after) !== kidOf(before), 'the new key signs')

    await t.step('standby published first: the new kid passes with no refetch', async () => {
      await lateAuth.verify(after)
      await lateAuth.verify(before)
      assertEquals(late.calls, 1)
    })

    await t.step(
      'instance older than the standby key: one refetch after the cooldown',
      async () => {
        const inside = await earlyAuth.verify(after).catch((e) => e)
        assert(inside instanceof ApiError && inside.status === 401, 'inside the cooldown: 401')
        clock.advance(1000)
        await earlyAuth.verify(after)
        await earlyAuth.verify(before)
        assertEquals(early.calls, 2)
      },
    )

    await t.step(
      'the me function, which saw the standby key, accepts tokens of both keys',
      async () => {
        for (const token of [before, after]) {
          const response = await me(token)
          assertEquals(response.status, 200, await response.text())
        }
      },
    )

    await stackControl('auth/keys', { phase: 'revoke' })

    await t.step('revoked key: cached until the next refresh, then 401 unknown key', async () => {
      await earlyAuth.verify(before)
      clock.advance(5000)
      const refused = await earlyAuth.verify(before).catch((e) => e)
      assert(refused instanceof ApiError, String(refused))
      assertEquals([refused.status, refused.descriptionKey], [401, 'unknownKey'])
      assertEquals(early.calls, 3)
      await earlyAuth.verify(after)
    })

    await t.step(
      'the me function: the revoked key fails after its refresh, the new one passes',
      async () => {
        // The stack restarts the functions when the revoked key had signed its API keys;
        // otherwise the function refreshes on its own schedule (its cache age, or an unknown kid
        // after its cooldown): a token signed by a key nobody publishes triggers that refetch.
        const { privateKey } = await crypto.subtle.generateKey(
          { name: 'ECDSA', namedCurve: 'P-256' },
          false,
          ['sign', 'verify'],
        )
        const now = Math.floor(Date.now() / 1000)
        const stranger = await new SignJWT({
          role: 'authenticated',
          session_id: crypto.randomUUID(),
        })
          .setProtectedHeader({ alg: 'ES256', kid: crypto.randomUUID() })
          .setIssuer(testStack().issuer).setAudience('authenticated').setSubject(user.id)
          .setIssuedAt(now).setExpirationTime(now + 600).sign(privateKey)
        // The default cooldown (30 s) bounds when an unknown kid may refetch.
        const { value: refused } = await eventually(async () => {
          const poke = await me(stranger)
          assert(poke.status < 500, `never a 5xx (${poke.status})`)
          await poke.body?.cancel()
          const response = await me(before)
          assert(response.status < 500, `never a 5xx (${response.status})`)
          if (response.status !== 200) return response
          await response.body?.cancel()
        }, {
          timeoutMs: 45_000,
          intervalMs: 500,
          what: 'the me function refuses the revoked key after refreshing its key set',
        })
        await assertAuthError(refused, 'BADTOKEN', 'unknownKey', [before])
        await assertMe(await me(after), after, {
          sub: user.id,
          session_id: decodeJwt(after).session_id,
        })
      },
    )
  },
})
