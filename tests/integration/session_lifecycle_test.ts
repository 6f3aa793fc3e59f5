// The seed's session lifecycle, end to end through the gateway with the real supabase-js client
// as the application: log in, store the session, use it, log out, and be denied afterwards.
import { assert, assertEquals, assertExists } from '@std/assert'
import { createClient, type Session, type SupabaseClient } from '@supabase/supabase-js'
import { assertAuthError, assertMe, assertNoEcho } from '../_helpers/assert_auth.ts'
import { eventually } from '../_helpers/poll.ts'
import {
  banUser,
  createTestUser,
  hasAuthServer,
  testStack,
  type TestUser,
} from '../_helpers/stack.ts'

const ignore = !hasAuthServer
/** The functions' session cache TTL (their default): how long an instance may reuse "live". */
const SESSION_TTL_MS = 1000
/** Room on a loaded machine for the request that observes the change after the TTL. */
const MARGIN_MS = 1000

function newClient(): SupabaseClient {
  const stack = testStack()
  return createClient(stack.url, stack.publishableKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  })
}

function fn(name: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${testStack().functionsUrl}/${name}`, init)
}

function bearer(token: string, init: RequestInit = {}): RequestInit {
  return { ...init, headers: { ...init.headers, Authorization: `Bearer ${token}` } }
}

function jsonPost(body: unknown, init: RequestInit = {}): RequestInit {
  return {
    ...init,
    method: 'POST',
    body: JSON.stringify(body),
    headers: { ...init.headers, 'Content-Type': 'application/json' },
  }
}

/**
 * Polls `route` with `token` until it is refused. `since` is when the logout was answered: another
 * function's instance may reuse a "live" answer asked before it for the session cache TTL, never
 * longer, so a 200 is allowed only for a request sent within the TTL after `since`.
 *
 * @returns the first refusal
 */
async function refusedAfterTtl(route: string, token: string, since: number): Promise<Response> {
  const { value } = await eventually(async () => {
    const sentAt = performance.now()
    const response = await fn(route, bearer(token))
    if (response.status !== 200) return response
    await response.body?.cancel()
    assertCachedLive(sentAt, since)
  }, {
    timeoutMs: SESSION_TTL_MS + MARGIN_MS,
    since,
    what: `${route} refuses the ended session after the session cache TTL`,
  })
  return value
}

/** A 200 after a logout: only from a cached answer, so only within the TTL after the logout. */
function assertCachedLive(sentAt: number, since: number): void {
  const late = sentAt - since
  assert(late < SESSION_TTL_MS, `200 for a request sent ${Math.round(late)} ms after the logout`)
}

async function login(user: TestUser): Promise<Session> {
  const response = await fn('login', jsonPost({ email: user.email, password: user.password }))
  assertEquals(response.status, 200, await response.clone().text())
  return await response.json()
}

Deno.test({
  name:
    'Seed flow: login -> store session -> authenticated requests -> logout -> denied (old access and refresh tokens)',
  ignore,
  async fn(t) {
    const user = await createTestUser()
    const client = newClient()
    // The seed's client state: the variable that holds the session.
    let session: Session | null = (await client.auth.getSession()).data.session
    const tracker: string[] = [`start: ${session === null ? 'null' : 'session'}`]
    assertEquals(session, null)

    let issued!: Session
    await t.step(
      '1. POST /login returns a session -> 200 with the Supabase session shape',
      async () => {
        const response = await fn('login', jsonPost({ email: user.email, password: user.password }))
        assertEquals(response.status, 200)
        assertEquals(response.headers.get('Cache-Control'), 'no-store')
        assertEquals(response.headers.get('Pragma'), 'no-cache')
        assertEquals(response.headers.get('Content-Type'), 'application/json')
        assertEquals(response.headers.get('sb-auth-user-id'), null)
        issued = await response.json()
        assertEquals(Object.keys(issued).sort(), [
          'access_token',
          'expires_at',
          'expires_in',
          'refresh_token',
          'token_type',
          'user',
        ])
        assertEquals(issued.token_type, 'bearer')
        assertEquals(issued.user.id, user.id)
        assert(issued.expires_at! > Date.now() / 1000)
        tracker.push('login: session received')
      },
    )

    await t.step('2. the client stores it: auth.setSession() accepts the body', async () => {
      const { data, error } = await client.auth.setSession({
        access_token: issued.access_token,
        refresh_token: issued.refresh_token,
      })
      assertEquals(error, null)
      session = (await client.auth.getSession()).data.session
      assertExists(session)
      assertEquals(session.access_token, issued.access_token)
      assertEquals(data.user?.id, user.id)
      tracker.push('stored: session')
    })

    let noteId = ''
    await t.step(
      '3. authenticated requests succeed: functions.invoke(me), notes create + list',
      async () => {
        const me = await client.functions.invoke('me', { method: 'GET' })
        assertEquals(me.error, null)
        assertEquals(me.data.user.id, user.id)
        assertEquals(me.data.user.email, user.email)
        assertEquals(me.data.user.role, 'authenticated')
        assertEquals(
          me.data.session.id,
          JSON.parse(
            atob(session!.access_token.split('.')[1]!.replaceAll('-', '+').replaceAll('_', '/')),
          ).session_id,
        )
        const created = await client.functions.invoke('notes', {
          method: 'POST',
          body: { body: 'remember the milk' },
        })
        assertEquals(created.error, null)
        assertEquals(created.data.body, 'remember the milk')
        noteId = created.data.id
        const list = await client.functions.invoke('notes', { method: 'GET' })
        assertEquals(list.error, null)
        assertEquals(list.data.notes.map((note: { id: string }) => note.id), [noteId])
        tracker.push('used: me 200, notes 201/200')
      },
    )

    let loggedOutAt = 0
    await t.step('4. POST /logout -> 204, and the client clears its session', async () => {
      const response = await fn('logout', bearer(session!.access_token, { method: 'POST' }))
      loggedOutAt = performance.now()
      assertEquals(response.status, 204)
      assertEquals(response.headers.get('Cache-Control'), 'no-store')
      assertEquals(await response.text(), '')
      await client.auth.signOut({ scope: 'local' })
      session = (await client.auth.getSession()).data.session
      assertEquals(session, null)
      tracker.push('logout: null')
    })

    await t.step(
      '5. denied afterwards: no credentials -> 401; old access token -> 401 invalid_token; old refresh token -> 400 invalid_grant',
      async () => {
        await assertAuthError(await fn('me'), 'NOCRED', 'missingCredentials')
        // The signed-out supabase-js client sends its key in apikey and as the bearer (the gateway
        // passes both on as sent): no user credential, and it is told just that.
        const anonymous = await client.functions.invoke('me', { method: 'GET' })
        const anonymousAnswer = (anonymous.error as { context: Response }).context
        await assertAuthError(anonymousAnswer, 'NOCRED', 'missingCredentials')
        // me and notes, other instances than logout's, learn of it through the session check.
        for (const route of ['me', 'notes']) {
          await assertAuthError(
            await refusedAfterTtl(route, issued.access_token, loggedOutAt),
            'BADTOKEN',
            'sessionRevoked',
            [issued.access_token],
          )
        }
        const refreshed = await fn('refresh', jsonPost({ refresh_token: issued.refresh_token }))
        await assertNoEcho(refreshed, [issued.refresh_token])
        assertEquals(refreshed.status, 400)
        assertEquals(await refreshed.json(), {
          error: 'invalid_grant',
          error_description: 'Invalid refresh token',
        })
        tracker.push('after logout: denied')
      },
    )

    assertEquals(tracker, [
      'start: null',
      'login: session received',
      'stored: session',
      'used: me 200, notes 201/200',
      'logout: null',
      'after logout: denied',
    ])
  },
})

Deno.test({
  name:
    'POST /refresh with a valid refresh token -> 200 with a new session whose access token works on me',
  ignore,
  async fn() {
    const user = await createTestUser()
    const first = await login(user)
    const response = await fn('refresh', jsonPost({ refresh_token: first.refresh_token }))
    assertEquals(response.status, 200)
    assertEquals(response.headers.get('Pragma'), 'no-cache')
    const second: Session = await response.json()
    assert(second.access_token !== first.access_token)
    assert(second.refresh_token !== first.refresh_token)
    const me = await fn('me', bearer(second.access_token))
    assertEquals(me.status, 200)
    assertEquals((await me.json()).user.id, user.id)
  },
})

Deno.test({
  name:
    'L05 POST /login failures are byte-identical: unknown email, wrong password, banned user -> 400 invalid_grant',
  ignore,
  async fn() {
    const user = await createTestUser()
    const banned = await createTestUser()
    await banUser(banned.id, '24h')
    const attempts = [
      { email: `nobody-${crypto.randomUUID()}@example.com`, password: 'whatever-password' },
      { email: user.email, password: 'wrong-password' },
      { email: banned.email, password: banned.password },
    ]
    const answers: string[] = []
    for (const attempt of attempts) {
      const response = await fn('login', jsonPost(attempt))
      await assertNoEcho(response, [attempt.email, attempt.password])
      const headers = [...response.headers].filter(([name]) => name !== 'date').map((
        [name, value],
      ) => `${name}: ${value}`)
      answers.push(`${response.status}\n${headers.join('\n')}\n${await response.text()}`)
    }
    assertEquals(answers[0], answers[1])
    assertEquals(answers[1], answers[2])
    assert(answers[0]!.startsWith('400\n'))
    assert(
      answers[0]!.endsWith(
        '{"error":"invalid_grant","error_description":"Invalid login credentials"}',
      ),
    )
  },
})

Deno.test({
  name:
    'Notes are private: another user cannot list or delete them (DELETE -> 404, existence not revealed)',
  ignore,
  async fn() {
    const alice = await login(await createTestUser())
    const bob = await login(await createTestUser())
    const created = await fn('notes', jsonPost({ body: 'alice only' }, bearer(alice.access_token)))
    assertEquals(created.status, 201)
    const note = await created.json()
    const bobList = await fn('notes', bearer(bob.access_token))
    assertEquals(bobList.status, 200)
    assertEquals((await bobList.json()).notes, [])
    const stolen = await fn(`notes/${note.id}`, bearer(bob.access_token, { method: 'DELETE' }))
    const missing = await fn(
      `notes/${crypto.randomUUID()}`,
      bearer(bob.access_token, { method: 'DELETE' }),
    )
    assertEquals(stolen.status, 404)
    assertEquals(missing.status, 404)
    assertEquals(await stolen.text(), await missing.text())
    const aliceList = await fn('notes', bearer(alice.access_token))
    assertEquals((await aliceList.json()).notes.map((n: { id: string }) => n.id), [note.id])
    const deleted = await fn(`notes/${note.id}`, bearer(alice.access_token, { method: 'DELETE' }))
    assertEquals(deleted.status, 204)
    const again = await fn(`notes/${note.id}`, bearer(alice.access_token, { method: 'DELETE' }))
    assertEquals(again.status, 404)
  },
})

Deno.test({
  name: 'GET /notes paginates with an opaque cursor; bad limit, cursor, id or body -> 400',
  ignore,
  async fn() {
    const session = await login(await createTestUser())
    for (let i = 0; i < 5; i++) {
      assertEquals(
        (await fn('notes', jsonPost({ body: `note ${i}` }, bearer(session.access_token)))).status,
        201,
      )
    }
    const first = await (await fn('notes?limit=2', bearer(session.access_token))).json()
    assertEquals(first.notes.map((n: { body: string }) => n.body), ['note 4', 'note 3'])
    assertExists(first.next_cursor)
    const second =
      await (await fn(`notes?limit=2&cursor=${first.next_cursor}`, bearer(session.access_token)))
        .json()
    assertEquals(second.notes.map((n: { body: string }) => n.body), ['note 2', 'note 1'])
    const third =
      await (await fn(`notes?limit=2&cursor=${second.next_cursor}`, bearer(session.access_token)))
        .json()
    assertEquals(third.notes.map((n: { body: string }) => n.body), ['note 0'])
    assertEquals(third.next_cursor, null)
    for (
      const path of [
        'notes?limit=0',
        'notes?limit=101',
        'notes?limit=abc',
        'notes?cursor=!!',
        'notes?other=1',
        'notes/not-a-uuid',
      ]
    ) {
      const response = await fn(
        path,
        bearer(session.access_token, { method: path.startsWith('notes/') ? 'DELETE' : 'GET' }),
      )
      assertEquals(response.status, 400, path)
      assertEquals((await response.json()).error, 'invalid_request')
    }
    for (
      const body of [{}, { body: '' }, { body: 1 }, { body: 'x'.repeat(4001) }, {
        body: 'ok',
        user_id: crypto.randomUUID(),
      }]
    ) {
      const response = await fn('notes', jsonPost(body, bearer(session.access_token)))
      assertEquals(response.status, 400, JSON.stringify(body).slice(0, 40))
    }
  },
})

Deno.test({
  name:
    'POST /logout scopes: local ends only the caller, others all but the caller, global all of the user',
  ignore,
  async fn() {
    const user = await createTestUser()
    const logout = async (s: Session, scope?: string) => {
      const query = scope === undefined ? '' : `?scope=${scope}`
      const response = await fn(`logout${query}`, bearer(s.access_token, { method: 'POST' }))
      const answeredAt = performance.now()
      assertEquals(response.status, 204, await response.clone().text())
      assertEquals(await response.text(), '')
      return answeredAt
    }
    const meAnswer = (s: Session) => fn('me', bearer(s.access_token))
    const assertLive = async (s: Session) => {
      const { sub, session_id } = JSON.parse(atob(
        s.access_token.split('.')[1]!.replaceAll('-', '+').replaceAll('_', '/'),
      ))
      await assertMe(await meAnswer(s), s.access_token, { sub, session_id })
    }
    const assertEnded = async (response: Response, s: Session) =>
      await assertAuthError(response, 'BADTOKEN', 'sessionRevoked', [s.access_token])

    const [a, b, c] = [await login(user), await login(user), await login(user)]
    await logout(a, 'local')
    // me never saw a: it asks the database at once. b and c are now cached "live" there.
    await assertEnded(await meAnswer(a), a)
    await assertLive(b)
    await assertLive(c)

    const othersAt = await logout(b, 'others')
    // c is refused once me's cached answer lapses; b answers 200 on every round meanwhile.
    const { value: cRefused } = await eventually(async () => {
      await assertLive(b)
      const sentAt = performance.now()
      const response = await meAnswer(c)
      if (response.status !== 200) return response
      await response.body?.cancel()
      assertCachedLive(sentAt, othersAt)
    }, {
      timeoutMs: SESSION_TTL_MS + MARGIN_MS,
      since: othersAt,
      what: 'me refuses the session that scope=others ended, within the session cache TTL',
    })
    await assertEnded(cRefused, c)
    // c's cached answer was asked after b's: b's has lapsed too, so this 200 is the database's.
    await assertLive(b)

    const d = await login(user)
    const globalAt = await logout(b)
    await assertEnded(await meAnswer(d), d)
    await assertEnded(await refusedAfterTtl('me', b.access_token, globalAt), b)
  },
})

Deno.test({
  name:
    'O02/O03/O04 POST /logout twice -> 204 both times; bad scope -> 400; GET -> 405 Allow: POST; no bearer -> 401',
  ignore,
  async fn() {
    const session = await login(await createTestUser())
    assertEquals((await fn('logout', bearer(session.access_token, { method: 'POST' }))).status, 204)
    assertEquals((await fn('logout', bearer(session.access_token, { method: 'POST' }))).status, 204)
    for (const query of ['scope=evil', 'scope=GLOBAL', 'scope=local&scope=global', 'scope=']) {
      const response = await fn(`logout?${query}`, bearer(session.access_token, { method: 'POST' }))
      assertEquals(response.status, 400, query)
      assertEquals((await response.json()).error, 'invalid_request')
    }
    const get = await fn('logout', bearer(session.access_token))
    assertEquals(get.status, 405)
    assertEquals(get.headers.get('Allow'), 'POST')
    await get.body?.cancel()
    await assertAuthError(await fn('logout', { method: 'POST' }), 'NOCRED', 'missingCredentials')
  },
})
