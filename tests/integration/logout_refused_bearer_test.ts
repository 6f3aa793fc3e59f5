// A logout whose bearer the auth server refuses though we accept it (a token that expires on its
// way there, an `nbf` or a clock inside our tolerance, a banned user) still ends the sessions, in
// the database: a 204 means the scope's sessions are gone, their access tokens refused by `me`
// within the staleness bound and their refresh tokens dead. A refused bearer ends no more than
// the auth server would have let it, and the database or the auth server out of reach is never a
// 204. Real gateway, functions, Supabase Auth and PostgreSQL; tokens minted with the stack's key.
import { assert, assertEquals } from '@std/assert'
import fc from 'fast-check'
import { decodeJwt, type JWTPayload } from 'jose'
import { authFromConfig } from '../../functions/_shared/auth/from_env.ts'
import { createLogoutApp } from '../../functions/logout/app.ts'
import { assertAuthError, assertMe, assertNoEcho } from '../_helpers/assert_auth.ts'
import { withAdmin } from '../_helpers/db_faults.ts'
import { eventually } from '../_helpers/poll.ts'
import {
  banUser,
  callFunction,
  createTestUser,
  hasAuthServer,
  loginUser,
  mintToken,
  requestInit,
  stackConfig,
  stackControl,
  testStack,
  type TestUser,
} from '../_helpers/stack.ts'

const ignore = !hasAuthServer
const SCOPES = ['global', 'local', 'others'] as const
type Scope = typeof SCOPES[number]
/** The functions' clock tolerance (their default): a token is judged valid that much early. */
const TOLERANCE_S = 5
/** The functions' session cache TTL (their default): how long `me` may reuse a "live" answer. */
const SESSION_TTL_MS = 1000
/** Room on a loaded machine for the request that observes the change after the TTL. */
const MARGIN_MS = 1000
const seed = Number(Deno.env.get('EDGE_AUTH_FUZZ_SEED') ?? Date.now() % 2 ** 31)
console.log(`logout refused-bearer cases seed ${seed}`)

/** One session of a test user: its id and the tokens its login answered. */
interface Held {
  id: string
  access: string
  refresh: string
}

/** A user with the caller's session and `others` more sessions. */
interface Account {
  user: TestUser
  caller: Held
  others: Held[]
}

async function account(others: number): Promise<Account> {
  const user = await createTestUser()
  const sessions: Held[] = []
  for (let i = 0; i <= others; i++) {
    const { access_token, refresh_token } = await loginUser(user)
    sessions.push({
      id: String(decodeJwt(access_token).session_id),
      access: access_token,
      refresh: refresh_token,
    })
  }
  const [caller, ...rest] = sessions
  return { user, caller: caller!, others: rest }
}

/** The ids of the user's sessions in `auth.sessions`, sorted. */
async function sessionRows(userId: string): Promise<string[]> {
  return await withAdmin(testStack(), async (sql) => {
    const rows = await sql`select id from auth.sessions where user_id = ${userId} order by id`
    return rows.map((row) => String(row.id))
  })
}

const nowS = () => Math.floor(Date.now() / 1000)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))

/** A token for the caller's session (its real `sub` and `session_id`) with the given claims. */
function tokenFor(account: Account, claims: JWTPayload): Promise<string> {
  return mintToken({ sub: account.user.id, session_id: account.caller.id, ...claims })
}

/** What Supabase Auth's own `GET /user` says of a bearer: its status and error code. */
async function authServerVerdict(token: string): Promise<string> {
  const stack = testStack()
  const response = await fetch(`${stack.url}/auth/v1/user`, {
    headers: { apikey: stack.publishableKey, Authorization: `Bearer ${token}` },
  })
  const body = await response.json().catch(() => ({}))
  return response.status === 200 ? '200' : `${response.status} ${body.error_code}`
}

async function logout(token: string, scope: Scope): Promise<Response> {
  return await callFunction(`logout?scope=${scope}`, requestInit(undefined, token, 'POST'))
}

/** Asserts a logout's 204: no body, not stored, nothing echoed. */
async function assertNoContent(response: Response, token: string): Promise<void> {
  await assertNoEcho(response, [token])
  const text = await response.text()
  assertEquals(response.status, 204, text)
  assertEquals(text, '')
  assertEquals(response.headers.get('Cache-Control'), 'no-store')
}

/**
 * Polls `GET /me` with `token` until it is refused; a 200 is allowed only for a request sent
 * within the session cache TTL after `since` (the logout's answer), and the refusal must be 401
 * `session revoked`.
 */
async function assertMeRevoked(token: string, since: number): Promise<void> {
  const { value } = await eventually(async () => {
    const sentAt = performance.now()
    const response = await callFunction('me', requestInit(undefined, token))
    if (response.status !== 200) return response
    await response.body?.cancel()
    const late = sentAt - since
    assert(late < SESSION_TTL_MS, `GET /me 200 for a request sent ${Math.round(late)} ms after`)
  }, {
    timeoutMs: SESSION_TTL_MS + MARGIN_MS,
    since,
    what: 'GET /me refuses the ended session within the session cache TTL',
  })
  await assertAuthError(value, 'BADTOKEN', 'sessionRevoked', [token])
}

async function assertRefreshRefused(refreshToken: string): Promise<void> {
  const response = await callFunction('refresh', requestInit({ refresh_token: refreshToken }))
  await assertNoEcho(response, [refreshToken])
  assertEquals(response.status, 400)
  assertEquals(await response.json(), {
    error: 'invalid_grant',
    error_description: 'Invalid refresh token',
  })
}

/** Which of the account's sessions a scope ends, and which it keeps. */
function split(account: Account, scope: Scope): { ended: Held[]; kept: Held[] } {
  const all = [account.caller, ...account.others]
  const ended = scope === 'local' ? [account.caller] : scope === 'others' ? account.others : all
  return { ended, kept: all.filter((held) => !ended.includes(held)) }
}

/**
 * After a logout's 204 (answered at `since`) with `bearer` for the caller's session: the rows of
 * the scope's sessions are gone and the rest are there; each ended session's access token (the
 * bearer, for the caller's) is 401 `session revoked` at `me` and its refresh token 400
 * `invalid_grant`; a kept session of a user in good standing still works.
 */
async function assertScopeEnded(
  account: Account,
  scope: Scope,
  bearer: string,
  since: number,
  usable = true,
): Promise<void> {
  const { ended, kept } = split(account, scope)
  assertEquals(
    await sessionRows(account.user.id),
    kept.map((held) => held.id).sort(),
    `scope=${scope}: the rows left in auth.sessions`,
  )
  for (const held of ended) {
    await assertMeRevoked(held === account.caller ? bearer : held.access, since)
    await assertRefreshRefused(held.refresh)
  }
  if (!usable) return
  for (const held of kept) {
    const me = await callFunction('me', requestInit(undefined, held.access))
    await assertMe(me, held.access, { sub: account.user.id, session_id: held.id })
  }
}

/** A bearer for the caller's session, and when to send it (epoch ms; default at once). */
interface Prepared {
  bearer: string
  sendAt?: number
}

/** A kind of bearer at an edge, and how to build one for a generated case. */
interface Edge<P> {
  /** For the test name: the bearer, and what the auth server makes of it. */
  name: string
  params: fc.Arbitrary<P>
  prepare(account: Account, params: P): Promise<Prepared>
  /** Whether the user may still use a kept session afterwards (not when banned). */
  usable?: boolean
  /** What the auth server says of the bearer before the logout, where that is certain. */
  verdict?: string
}

const nbfAhead: Edge<number> = {
  name:
    'a token whose nbf is 2-4 s ahead, inside our 5 s tolerance (the auth server refuses it: 403 bad_jwt)',
  params: fc.integer({ min: 2_000, max: (TOLERANCE_S - 1) * 1000 }),
  prepare: async (account, aheadMs) => {
    const nbf = Math.floor((Date.now() + aheadMs) / 1000)
    return { bearer: await tokenFor(account, { iat: nowS(), nbf, exp: nowS() + 3600 }) }
  },
  verdict: '403 bad_jwt',
}

const clockAhead: Edge<number> = {
  name:
    'a token from a clock 1-4 s ahead of ours, iat and nbf in the future inside the tolerance (refused by the auth server until its nbf)',
  params: fc.integer({ min: 1_000, max: (TOLERANCE_S - 1) * 1000 }),
  prepare: async (account, aheadMs) => {
    const at = Math.floor((Date.now() + aheadMs) / 1000)
    return { bearer: await tokenFor(account, { iat: at, nbf: at, exp: at + 3600 }) }
  },
}

const iatAhead: Edge<number> = {
  name: 'a token whose iat alone is 1-4 s ahead (the auth server takes it)',
  params: fc.integer({ min: 1_000, max: (TOLERANCE_S - 1) * 1000 }),
  prepare: async (account, aheadMs) => {
    const iat = Math.floor((Date.now() + aheadMs) / 1000)
    return { bearer: await tokenFor(account, { iat, exp: iat + 3600 }) }
  },
  verdict: '200',
}

const expRacing: Edge<number> = {
  name:
    "a token expiring as it is sent, from 50 ms after its exp to 150 ms before (either side of the auth server's exp check)",
  params: fc.integer({ min: -50, max: 150 }),
  prepare: async (account, beforeMs) => {
    // A second boundary 1-2 s away: the token is still valid when it is minted.
    const exp = nowS() + 2
    return {
      bearer: await tokenFor(account, { iat: exp - 3600, exp }),
      sendAt: exp * 1000 - beforeMs,
    }
  },
}

const banned: Edge<string> = {
  name:
    "a banned user's unexpired token (the auth server refuses it from v2.195, 403 user_banned, and takes it before)",
  params: fc.constantFrom('1h', '24h', '10m'),
  prepare: async (account, duration) => {
    await banUser(account.user.id, duration)
    return { bearer: account.caller.access }
  },
  usable: false,
}

function edgeTests<P>(edge: Edge<P>): void {
  for (const scope of SCOPES) {
    Deno.test({
      name:
        `POST /logout?scope=${scope} with ${edge.name} -> 204; the scope's session rows gone, GET /me 401 session revoked, refresh 400 invalid_grant`,
      ignore,
      async fn() {
        await fc.assert(
          fc.asyncProperty(edge.params, fc.integer({ min: 0, max: 2 }), async (params, others) => {
            const caller = await account(others)
            const { bearer, sendAt } = await edge.prepare(caller, params)
            if (edge.verdict !== undefined) {
              assertEquals(await authServerVerdict(bearer), edge.verdict, 'Supabase Auth on /user')
            }
            if (sendAt !== undefined) await sleep(sendAt - Date.now())
            const response = await logout(bearer, scope)
            const since = performance.now()
            await assertNoContent(response, bearer)
            await assertScopeEnded(caller, scope, bearer, since, edge.usable ?? true)
          }),
          { seed, numRuns: 3 },
        )
      },
    })
  }
}

edgeTests(nbfAhead)
edgeTests(clockAhead)
edgeTests(iatAhead)
edgeTests(expRacing)
edgeTests(banned)

Deno.test({
  name:
    "POST /logout (each scope) with a token that expires while the call to the auth server is on its way -> Supabase Auth 403 bad_jwt, 204, the scope's sessions gone (in process, the call held past exp)",
  ignore,
  async fn() {
    const config = stackConfig()
    // One instance for every run, as on one warm function: one pool, closed at the end.
    const auth = authFromConfig(config)
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...SCOPES),
          fc.integer({ min: 20, max: 400 }),
          fc.integer({ min: 0, max: 2 }),
          async (scope, pastMs, others) => {
            const caller = await account(others)
            const exp = nowS() + 2
            const bearer = await tokenFor(caller, { iat: exp - 3600, exp })
            const upstream: string[] = []
            // The request reaches the function before exp; its call to the auth server arrives
            // `pastMs` after it (a slow network, a busy instance).
            const heldFetch: typeof fetch = async (input, init) => {
              const url = input instanceof Request ? input.url : String(input)
              if (!new URL(url).pathname.endsWith('/auth/v1/logout')) {
                return await fetch(input, init)
              }
              await sleep(exp * 1000 + pastMs - Date.now())
              const response = await fetch(input, init)
              // supabase-js asks for the dated error format: `code` is the error code.
              const body = await response.clone().json().catch(() => ({}))
              upstream.push(`${response.status} ${body.code}`)
              return response
            }
            const app = createLogoutApp(config, { auth, fetch: heldFetch })
            const response = await app.request(`/logout?scope=${scope}`, {
              method: 'POST',
              headers: { Authorization: `Bearer ${bearer}` },
            })
            const since = performance.now()
            await assertNoContent(response, bearer)
            assertEquals(upstream, ['403 bad_jwt'])
            await assertScopeEnded(caller, scope, bearer, since)
          },
        ),
        { seed, numRuns: 6 },
      )
    } finally {
      await auth.close()
    }
  },
})

Deno.test({
  name:
    'POST /logout (each scope) with a refused bearer whose session is already gone (nbf ahead, or a banned user) -> 204 and no other session of the user ends',
  ignore,
  async fn() {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...SCOPES),
        fc.constantFrom('nbf ahead', 'banned'),
        fc.integer({ min: 1, max: 2 }),
        async (scope, kind, others) => {
          const caller = await account(others)
          const ended = await logout(caller.caller.access, 'local')
          await assertNoContent(ended, caller.caller.access)
          const live = caller.others.map((held) => held.id).sort()
          assertEquals(await sessionRows(caller.user.id), live)
          let bearer = caller.caller.access
          if (kind === 'banned') await banUser(caller.user.id, '1h')
          else bearer = await tokenFor(caller, { iat: nowS(), nbf: nowS() + 3, exp: nowS() + 600 })
          // The auth server refuses it for its claims or the ban, before it looks for the session.
          if (kind === 'nbf ahead') assertEquals(await authServerVerdict(bearer), '403 bad_jwt')
          await assertNoContent(await logout(bearer, scope), bearer)
          assertEquals(await sessionRows(caller.user.id), live)
        },
      ),
      { seed, numRuns: 8 },
    )
  },
})

Deno.test({
  name:
    "POST /logout (each scope) with a refused bearer pairing one user's sub with another user's session id -> 204, and neither user's sessions end",
  ignore,
  async fn() {
    for (const scope of SCOPES) {
      const alice = await account(1)
      const bob = await account(1)
      const bearer = await mintToken({
        sub: alice.user.id,
        session_id: bob.caller.id,
        nbf: nowS() + 3,
      })
      await assertNoContent(await logout(bearer, scope), bearer)
      assertEquals(
        await sessionRows(alice.user.id),
        [alice.caller.id, alice.others[0]!.id].sort(),
      )
      assertEquals(await sessionRows(bob.user.id), [bob.caller.id, bob.others[0]!.id].sort())
    }
  },
})

Deno.test({
  name:
    'POST /logout (each scope) with a refused bearer while PostgreSQL is stopped -> 503 temporarily_unavailable with Retry-After, never 204; the sessions live on, and the same logout once it is back -> 204, sessions gone',
  ignore,
  async fn() {
    const accounts = await Promise.all(SCOPES.map(() => account(1)))
    // Minted at the call: the auth server refuses it for its nbf before it needs its database.
    const bearerOf = (held: Account) =>
      tokenFor(held, { iat: nowS(), nbf: nowS() + TOLERANCE_S - 1, exp: nowS() + 600 })
    await stackControl('postgres/stop')
    try {
      for (const [i, scope] of SCOPES.entries()) {
        const bearer = await bearerOf(accounts[i]!)
        const response = await logout(bearer, scope)
        await assertAuthError(response, 'SESSION_DOWN', 'sessionStoreUnavailable', [bearer])
      }
    } finally {
      await stackControl('postgres/start')
    }
    for (const held of accounts) {
      assertEquals(
        await sessionRows(held.user.id),
        [held.caller.id, ...held.others.map((other) => other.id)].sort(),
      )
    }
    for (const [i, scope] of SCOPES.entries()) {
      const held = accounts[i]!
      // The functions reconnect after a moment: only 503 until the 204.
      const { value: bearer } = await eventually(async () => {
        const bearer = await bearerOf(held)
        const response = await logout(bearer, scope)
        if (response.status !== 503) {
          await assertNoContent(response, bearer)
          return bearer
        }
        await assertAuthError(response, 'SESSION_DOWN', 'sessionStoreUnavailable', [bearer])
      }, { timeoutMs: 15_000, intervalMs: 200, what: `logout?scope=${scope} 204 after restart` })
      await assertScopeEnded(held, scope, bearer, performance.now())
    }
  },
})

Deno.test({
  name:
    'POST /logout (each scope) while the auth server is stopped -> 502 auth_upstream_unavailable, never 204, for a valid and for a refused-class bearer; no session ends',
  ignore,
  async fn() {
    const accounts = await Promise.all(SCOPES.map(() => account(1)))
    await stackControl('auth/stop')
    try {
      for (const [i, scope] of SCOPES.entries()) {
        const held = accounts[i]!
        const nbf = await tokenFor(held, { iat: nowS(), nbf: nowS() + 3, exp: nowS() + 600 })
        for (const bearer of [held.caller.access, nbf]) {
          const response = await logout(bearer, scope)
          await assertNoEcho(response, [bearer])
          assertEquals(response.status, 502)
          assertEquals(await response.json(), {
            error: 'auth_upstream_unavailable',
            error_description: 'Auth server unavailable',
          })
        }
      }
    } finally {
      await stackControl('auth/start')
    }
    for (const held of accounts) {
      assertEquals(
        await sessionRows(held.user.id),
        [held.caller.id, ...held.others.map((other) => other.id)].sort(),
      )
    }
  },
})
