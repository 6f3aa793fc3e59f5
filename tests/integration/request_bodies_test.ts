// Request bodies on the real stack (gateway, functions host, the real auth server and
// PostgreSQL): the longest valid body of every body route, spelt as Python's json.dumps spells it
// (every character outside ASCII as \uXXXX, an emoji as a surrogate pair) or with every character
// escaped, is read, never a 413; one character more is a 400 naming the field; a note's length is
// counted in characters by the function and the column alike; a quoted charset is accepted, a
// content coding refused; a body cut short is a 400. No request leaves a server_error line in the
// functions' log.
import { assert, assertEquals } from '@std/assert'
import fc from 'fast-check'
import { decodeJwt } from 'jose'
import { DESCRIPTIONS } from '../../functions/_shared/core/errors.ts'
import { assertNoBugLine, functionsLogFrom } from '../_helpers/db_faults.ts'
import { BODY_ROUTES, type Route } from '../_helpers/function_apps.ts'
import { ASTRAL, type Spelling, spellJson, stringOfLength } from '../_helpers/json_spelling.ts'
import { cutRequest, type Framing, rawExchange } from '../_helpers/raw_http.ts'
import {
  callFunction,
  createTestUser,
  hasAuthServer,
  loginUser,
  testStack,
} from '../_helpers/stack.ts'

const ignore = !hasAuthServer

/** Runs `fn`, then asserts that the functions logged no server_error meanwhile. */
async function withoutServerErrors(fn: () => Promise<void>): Promise<void> {
  const log = functionsLogFrom(testStack())
  await fn()
  // The functions' output reaches the file through a pipe: give the last lines a moment.
  await new Promise((resolve) => setTimeout(resolve, 200))
  assertNoBugLine(log.lines())
}

/** Asserts an error answer through the gateway: status, body, the contract's headers. */
async function assertError(response: Response, status: number, error: string, description: string) {
  const text = await response.text()
  assertEquals(response.status, status, text)
  assertEquals(JSON.parse(text), { error, error_description: description })
  assertEquals(response.headers.get('Content-Type'), 'application/json')
  assertEquals(response.headers.get('Cache-Control'), 'no-store')
  assertEquals(response.headers.get('X-Content-Type-Options'), 'nosniff')
}

function post(path: string, body: string, headers: Record<string, string> = {}) {
  return callFunction(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body,
  })
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` })

/** The access token of a new user's session. */
async function newUserToken(): Promise<string> {
  return (await loginUser(await createTestUser())).access_token
}

Deno.test({
  name:
    'B01/B02 POST /notes through the gateway: 4,000 characters of emoji, BMP letters or any mix, Python-escaped (up to 48 KB) or every character escaped -> 201, stored and read back unchanged; 4,001 -> 400 body: too long, nothing stored',
  ignore,
  async fn() {
    const token = await newUserToken()
    await withoutServerErrors(async () => {
      const cases = fc.sample(
        fc.tuple(
          fc.oneof(
            fc.constantFrom(...ASTRAL, '\u00e9', '\u4e2d').map((c) => c.repeat(4000)),
            stringOfLength(4000),
          ),
          fc.constantFrom<Spelling>('python', 'python-indent', 'escape-all', 'stringify'),
        ),
        { numRuns: 8, seed: 0xb01 },
      )
      for (const [note, spelling] of cases) {
        const created = await post('notes', spellJson({ body: note }, spelling), bearer(token))
        const text = await created.text()
        assertEquals(created.status, 201, text.slice(0, 200))
        const { id, body } = JSON.parse(text)
        assertEquals(body, note)
        const listed = await callFunction('notes?limit=1', { headers: bearer(token) })
        const page = await listed.json()
        assertEquals([page.notes[0].id, page.notes[0].body], [id, note], 'read back unchanged')
        const over = note + [...note][0]
        await assertError(
          await post('notes', spellJson({ body: over }, spelling), bearer(token)),
          400,
          'invalid_request',
          `body: ${DESCRIPTIONS.fieldLength}`,
        )
      }
      const all = await (await callFunction('notes?limit=100', { headers: bearer(token) })).json()
      assertEquals(all.notes.length, cases.length, 'only the accepted notes are stored')
    })
  },
})

Deno.test({
  name:
    'B01/B02 POST /login, /refresh, /sessions/revoke through the gateway: real credentials Python-escaped -> 200/204; every field at its longest, every character escaped -> the auth server or the database answers, never 413; one character more -> 400 naming the field',
  ignore,
  async fn() {
    const stack = testStack()
    // A password with letters outside ASCII and an emoji, which Python escapes.
    const user = await createTestUser({ password: `p\u00e4ss-\u{1F600}-${crypto.randomUUID()}` })
    await withoutServerErrors(async () => {
      const login = await post(
        'login',
        spellJson({ email: user.email, password: user.password }, 'python'),
      )
      const session = await login.json()
      assertEquals(login.status, 200, JSON.stringify(session))
      assertEquals(decodeJwt(session.access_token).sub, user.id)
      const refreshed = await post(
        'refresh',
        spellJson({ refresh_token: session.refresh_token }, 'escape-all'),
      )
      assertEquals(refreshed.status, 200, await refreshed.clone().text())
      await refreshed.body?.cancel()
      const revoked = await post('sessions/revoke', spellJson({ user_id: user.id }, 'escape-all'), {
        apikey: stack.secretKey,
      })
      assertEquals(revoked.status, 204, await revoked.clone().text())

      const headersOf = (route: Route): Record<string, string> =>
        route.fn === 'sessions' ? { apikey: stack.secretKey } : {}
      for (const route of BODY_ROUTES.filter((r) => r.fn !== 'notes')) {
        const path = route.path.slice(1)
        const longest = Object.fromEntries(
          Object.entries(route.body!).map(([name, max]) => [name, ASTRAL[0]!.repeat(max)]),
        )
        const answer = await post(path, spellJson(longest, 'escape-all'), headersOf(route))
        const text = await answer.text()
        // Past every check of the body: the auth server refuses these credentials, or the user
        // id is no UUID.
        const expected = route.fn === 'sessions'
          ? [400, 'invalid_request', `user_id: ${DESCRIPTIONS.notUuid}`]
          : [400, 'invalid_grant']
        assertEquals([answer.status, JSON.parse(text).error], expected.slice(0, 2), text)
        if (expected[2]) assertEquals(JSON.parse(text).error_description, expected[2])
        const [name] = Object.keys(route.body!)
        const over = { ...longest, [name!]: `${longest[name!]}x` }
        await assertError(
          await post(path, spellJson(over, 'python'), headersOf(route)),
          400,
          'invalid_request',
          `${name}: ${DESCRIPTIONS.fieldLength}`,
        )
      }
    })
  },
})

Deno.test({
  name:
    'B04/B05 through the gateway: charset="utf-8" and CHARSET=UTF-8 -> read; charset=utf-16 -> 415; Content-Encoding gzip or br -> 415 with Accept-Encoding: identity',
  ignore,
  async fn() {
    const token = await newUserToken()
    await withoutServerErrors(async () => {
      for (const type of ['application/json; charset="utf-8"', 'Application/JSON;CHARSET=UTF-8']) {
        const created = await post('notes', '{"body":"quoted"}', {
          ...bearer(token),
          'Content-Type': type,
        })
        assertEquals(created.status, 201, await created.clone().text())
        await created.body?.cancel()
      }
      for (const route of BODY_ROUTES) {
        const headers: Record<string, string> = route.fn === 'sessions'
          ? { apikey: testStack().secretKey }
          : route.fn === 'notes'
          ? bearer(token)
          : {}
        const path = route.path.slice(1)
        await assertError(
          await post(path, '{}', {
            ...headers,
            'Content-Type': 'application/json; charset=utf-16',
          }),
          415,
          'unsupported_media_type',
          DESCRIPTIONS.unsupportedMediaType,
        )
        for (const coding of ['gzip', 'br']) {
          const refused = await post(path, '{}', { ...headers, 'Content-Encoding': coding })
          assertEquals(refused.headers.get('Accept-Encoding'), 'identity')
          await assertError(
            refused,
            415,
            'unsupported_media_type',
            DESCRIPTIONS.unsupportedEncoding,
          )
        }
      }
    })
  },
})

Deno.test({
  name:
    'B06 through the gateway: every body route x Content-Length or chunked bodies cut at the start, the middle, one byte short -> 400 invalid_request, no server_error logged',
  ignore,
  async fn() {
    const stack = testStack()
    const token = await newUserToken()
    await withoutServerErrors(async () => {
      for (const route of BODY_ROUTES) {
        const headers: Record<string, string> = {
          'Content-Type': 'application/json',
          ...(route.fn === 'sessions' ? { apikey: stack.secretKey } : {}),
          ...(route.fn === 'notes' ? bearer(token) : {}),
        }
        const values = Object.fromEntries(
          Object.entries(route.body!).map(([name, max]) => [name, '\u00e9'.repeat(max)]),
        )
        const body = new TextEncoder().encode(spellJson(values, 'python'))
        for (const framing of ['length', 'chunked'] as Framing[]) {
          for (const sent of [0, Math.floor(body.length / 2), body.length - 1]) {
            const response = await rawExchange(
              stack.ports.gateway,
              cutRequest(`/functions/v1${route.path}`, headers, body, sent, framing),
            )
            const label = `${route.path} ${framing} ${sent}/${body.length}`
            assertEquals(response.status, 400, `${label}: ${response.body}`)
            assertEquals(JSON.parse(response.body).error, 'invalid_request', label)
            assertEquals(response.headers.get('cache-control'), 'no-store', label)
          }
        }
      }
    })
  },
})

Deno.test({
  name:
    'Q01/Q02/Q06 through the gateway: an unknown parameter on every route, a repeated one on notes and logout -> 400 naming it; notes?limit=1 -> 200',
  ignore,
  async fn() {
    const stack = testStack()
    const token = await newUserToken()
    await withoutServerErrors(async () => {
      const cases: [string, string, string, string][] = [
        ['GET', 'health?verbose=1', 'verbose', DESCRIPTIONS.unknownParameter],
        ['POST', 'login?_method=GET', '_method', DESCRIPTIONS.unknownParameter],
        ['POST', 'refresh?x=1', 'x', DESCRIPTIONS.unknownParameter],
        ['POST', 'logout?scope=local&scope=local', 'scope', DESCRIPTIONS.repeatedParameter],
        ['GET', 'me?debug', 'debug', DESCRIPTIONS.unknownParameter],
        ['GET', 'notes?limit=1&limit=2', 'limit', DESCRIPTIONS.repeatedParameter],
        ['POST', 'notes?_method=DELETE', '_method', DESCRIPTIONS.unknownParameter],
        ['DELETE', `notes/${crypto.randomUUID()}?force=1`, 'force', DESCRIPTIONS.unknownParameter],
        ['POST', 'sessions/revoke?user_id=x', 'user_id', DESCRIPTIONS.unknownParameter],
      ]
      for (const [method, path, name, description] of cases) {
        const response = await callFunction(path, {
          method,
          headers: { ...bearer(token), apikey: stack.secretKey },
        })
        await assertError(response, 400, 'invalid_request', `${name}: ${description}`)
      }
      const page = await callFunction('notes?limit=1', { headers: bearer(token) })
      assertEquals(page.status, 200)
      assert(Array.isArray((await page.json()).notes))
    })
  },
})
