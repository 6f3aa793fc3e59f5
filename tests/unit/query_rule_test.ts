// The query rule on every route of every function, in process: a route takes the parameters it
// names, each once; any other parameter, or one given twice, is a 400 invalid_request naming it
// in a safe form; a token in the query gets the bearer rules' answer on every route. Generated
// queries (fast-check) over every route, spelt every way a URL can spell them.
import { assert, assertEquals, assertMatch } from '@std/assert'
import fc from 'fast-check'
import { DESCRIPTIONS, MAX_SHOWN_NAME, REALM } from '../../functions/_shared/core/errors.ts'
import { createFunctionApp, methodNotAllowed } from '../../functions/_shared/hono/adapter.ts'
import { assertAuthError } from '../_helpers/assert_auth.ts'
import { functionApps, type Route, ROUTES } from '../_helpers/function_apps.ts'
import { capturingErrors } from '../_helpers/quietly.ts'

const { apps, token } = await functionApps()

const RUNS = 400

/** What the rule must answer to a query on a route: a refusal naming a parameter, or nothing. */
type Verdict =
  | { kind: 'unknown'; name: string }
  | { kind: 'repeated'; name: string }
  | { kind: 'pass' }

/** The rule, read off the parameters as `URLSearchParams` decodes them, in the order sent. */
function verdict(route: Route, names: readonly string[]): Verdict {
  const seen = new Set<string>()
  for (const name of names) {
    if (!route.parameters.includes(name)) return { kind: 'unknown', name }
    if (seen.has(name)) return { kind: 'repeated', name }
    seen.add(name)
  }
  return { kind: 'pass' }
}

/** The parameter names of a URL path with its query, as the platform decodes them. */
function namesOf(pathAndQuery: string): string[] {
  return [...new URL(`http://x${pathAndQuery}`).searchParams.keys()]
}

/**
 * Asserts that `shown` is a safe rendering of `name`: `(empty)` for the empty name; else only
 * URL-safe ASCII, at most the cap, and the name itself (percent-decoded) or, when cut, a prefix
 * of it followed by `...`.
 */
function assertSafelyShown(shown: string, name: string): void {
  if (name === '') return assertEquals(shown, '(empty)')
  assertMatch(shown, /^[A-Za-z0-9\-_.!~*'()%]+$/, `only URL-safe ASCII: ${shown}`)
  assert(shown.length <= MAX_SHOWN_NAME, `at most ${MAX_SHOWN_NAME} characters: ${shown}`)
  if (decodeURIComponent(shown) === name) return
  assert(shown.endsWith('...'), `a cut name ends in "...": ${shown}`)
  const prefix = decodeURIComponent(shown.slice(0, -3))
  assert(name.startsWith(prefix) && prefix.length < name.length, `a prefix of the name: ${shown}`)
}

/** Asserts the contract's headers of any answer of these apps. */
function assertHeaders(response: Response): void {
  assertEquals(response.headers.get('Cache-Control'), 'no-store')
  assertEquals(response.headers.get('X-Content-Type-Options'), 'nosniff')
  assertEquals(response.headers.get('Access-Control-Allow-Origin'), '*')
}

/** Asserts the rule's refusal: 400 invalid_request naming the parameter, no challenge. */
async function assertRefused(response: Response, expected: Verdict, method: string) {
  const text = await response.text()
  assertEquals(response.status, 400, text)
  assertHeaders(response)
  assertEquals(response.headers.get('WWW-Authenticate'), null)
  if (method === 'HEAD') return assertEquals(text, '')
  assertEquals(response.headers.get('Content-Type'), 'application/json')
  const body = JSON.parse(text)
  assertEquals(Object.keys(body).sort(), ['error', 'error_description'])
  assertEquals(body.error, 'invalid_request')
  const description = expected.kind === 'unknown'
    ? DESCRIPTIONS.unknownParameter
    : DESCRIPTIONS.repeatedParameter
  const suffix = `: ${description}`
  assert(String(body.error_description).endsWith(suffix), body.error_description)
  const shown = String(body.error_description).slice(0, -suffix.length)
  if (expected.kind !== 'pass') assertSafelyShown(shown, expected.name)
}

/** Whether an answer is one of the rule's refusals. */
async function isRuleRefusal(response: Response): Promise<boolean> {
  if (response.status !== 400 || response.headers.get('Content-Type') !== 'application/json') {
    return false
  }
  const description = String((await response.clone().json()).error_description)
  return description.endsWith(`: ${DESCRIPTIONS.unknownParameter}`) ||
    description.endsWith(`: ${DESCRIPTIONS.repeatedParameter}`)
}

// ---- generated queries ----

/** Names a client might send: the route's own, near misses, traps, and anything at all. */
function nameArbitrary(route: Route): fc.Arbitrary<string> {
  const own = route.parameters.length > 0 ? [fc.constantFrom(...route.parameters)] : []
  return fc.oneof(
    ...own.map((arbitrary) => ({ weight: 6, arbitrary })),
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        'limit',
        'cursor',
        'scope',
        'Limit',
        'SCOPE',
        'limit ',
        '_method',
        'apikey',
        'email',
        'password',
        'refresh_token',
        'user_id',
        'id',
        '__proto__',
        'constructor',
        '',
        'limit[]',
        'x',
      ),
    },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
    { weight: 1, arbitrary: fc.string({ minLength: 41, maxLength: 300 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('"<script>', '\u0000', '\r\n', '\u202e', '%', '\u{1F600}'),
    },
  )
}

/** Every way a URL may spell a name or value: the form encoding, `%XX` for each byte, or raw. */
type Spelling = 'form' | 'percent' | 'raw'

function spell(text: string, spelling: Spelling): string {
  if (spelling === 'form') return new URLSearchParams([[text, '']]).toString().slice(0, -1)
  const bytes = new TextEncoder().encode(text)
  if (spelling === 'percent') {
    return [...bytes].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('')
  }
  // Raw only where the text has no character that separates or escapes in a query.
  return /^[A-Za-z0-9_.~\-!*'()[\]]*$/.test(text) ? text : encodeURIComponent(text.toWellFormed())
}

const spelling = fc.constantFrom<Spelling>('form', 'percent', 'raw')

/**
 * A query string: parameters with any values, any spelling, stray `&` between them; names of
 * any kind, or only the route's own (`own`).
 */
function queryArbitrary(route: Route, maxLength = 4, own = false): fc.Arbitrary<string> {
  const pair = fc.tuple(
    own ? fc.constantFrom(...route.parameters) : nameArbitrary(route),
    fc.string({ maxLength: 12 }),
    spelling,
    spelling,
    fc.boolean(),
  ).map(([name, value, nameSpelling, valueSpelling, withValue]) =>
    withValue
      ? `${spell(name, nameSpelling)}=${spell(value, valueSpelling)}`
      : spell(name, nameSpelling)
  )
  return fc.array(
    fc.oneof({ weight: 8, arbitrary: pair }, { weight: 1, arbitrary: fc.constant('') }),
    {
      minLength: 1,
      maxLength,
    },
  ).map((pairs) => `?${pairs.join('&')}`)
}

/** A route and a query for it (only of its own parameters with `own`). */
function routeAndQuery(maxLength?: number, own = false): fc.Arbitrary<[Route, string]> {
  const routes = own ? ROUTES.filter((route) => route.parameters.length > 0) : ROUTES
  return fc.constantFrom(...routes).chain((route) =>
    fc.tuple(fc.constant(route), queryArbitrary(route, maxLength, own))
  )
}

function send(route: Route, query: string, headers: Record<string, string> = {}, head = false) {
  const method = head && route.method === 'GET' ? 'HEAD' : route.method
  return {
    method,
    response: Promise.resolve(apps[route.fn].request(`${route.path}${query}`, { method, headers })),
  }
}

Deno.test('every app serves exactly the routes of the table the query tests cover', () => {
  for (const fn of Object.keys(apps) as (keyof typeof apps)[]) {
    // One entry per handler: a route with middleware is listed once per handler.
    const served = [
      ...new Set(
        apps[fn].routes.filter((route) => route.method !== 'ALL')
          .map((route) => `${route.method} ${route.path}`),
      ),
    ].sort()
    const listed = ROUTES.filter((route) => route.fn === fn)
      .map((route) => `${route.method} ${route.pattern}`).sort()
    assertEquals(served, listed, fn)
  }
})

/** Sends generated queries to their routes and checks each answer against the rule. */
async function checkRule(cases: fc.Arbitrary<[Route, string]>, seed: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(cases, fc.boolean(), async ([route, query], head) => {
      const names = namesOf(`${route.path}${query}`)
      fc.pre(!names.includes('access_token'))
      const expected = verdict(route, names)
      // A passing query on health would probe the database, which is not part of this test.
      fc.pre(!(expected.kind === 'pass' && route.fn === 'health'))
      const [response, lines] = await capturingErrors(async () => {
        const { method, response } = send(route, query, {}, head)
        const answer = await response
        if (expected.kind === 'pass') {
          assert(!(await isRuleRefusal(answer)), `${method} ${route.path}${query} was refused`)
          assertHeaders(answer)
        } else await assertRefused(answer.clone(), expected, method)
        return answer
      })
      await response.body?.cancel()
      assertEquals(lines, [], 'nothing logged')
    }),
    { numRuns: RUNS, seed },
  )
}

Deno.test(`Q01/Q02/Q03 every route x ${RUNS} generated queries of any names: an unknown or repeated parameter -> 400 invalid_request naming the first one safely; no log line`, async () => {
  await checkRule(routeAndQuery(), 0x9e11)
})

Deno.test(`Q06/Q02 the routes that take parameters x ${RUNS} generated queries of their own names in any spelling: each once -> passed on to the route, one twice -> 400 naming it`, async () => {
  await checkRule(routeAndQuery(4, true), 0x9e12)
})

Deno.test('Q04 access_token in the query of any route, among any other parameters -> the bearer rules: 400 tokenInQuery, or multipleMethods beside a valid bearer', async () => {
  await fc.assert(
    fc.asyncProperty(
      routeAndQuery(3),
      fc.nat(4),
      fc.boolean(),
      spelling,
      async ([route, others], at, withBearer, nameSpelling) => {
        const parts = others.slice(1).split('&')
        const value = 'query-token-value'
        parts.splice(at % (parts.length + 1), 0, `${spell('access_token', nameSpelling)}=${value}`)
        const query = `?${parts.join('&')}`
        const headers: Record<string, string> = withBearer
          ? { Authorization: `Bearer ${token}` }
          : {}
        const { response } = send(route, query, headers)
        await assertAuthError(
          await response,
          'BADREQ',
          withBearer ? 'multipleMethods' : 'tokenInQuery',
          [token, value],
        )
      },
    ),
    { numRuns: 200, seed: 0xacce55 },
  )
})

Deno.test('Q01 POST /notes?_method=DELETE, GET /me?x=1, GET /health?debug=1, POST /login?apikey=… -> 400 naming the parameter, before authentication and body', async () => {
  const cases: [Route['fn'], string, string, string][] = [
    ['notes', 'POST', '/notes?_method=DELETE', '_method'],
    ['notes', 'DELETE', '/notes/00000000-0000-4000-8000-000000000000?_method=GET', '_method'],
    ['me', 'GET', '/me?x=1', 'x'],
    ['health', 'GET', '/health?debug=1', 'debug'],
    ['login', 'POST', '/login?apikey=sb_publishable_abc', 'apikey'],
    ['refresh', 'POST', '/refresh?refresh_token=abc', 'refresh_token'],
    [
      'sessions',
      'POST',
      '/sessions/revoke?user_id=00000000-0000-4000-8000-000000000000',
      'user_id',
    ],
    ['notes', 'GET', '/notes?Limit=5', 'Limit'],
    ['notes', 'GET', '/notes?limit=5&sort=asc', 'sort'],
    ['logout', 'POST', '/logout?scope=local&all=1', 'all'],
    ['notes', 'GET', '/notes?%22%3Cscript%3E=1', '%22%3Cscript%3E'],
    ['notes', 'GET', '/notes?=1', '(empty)'],
  ]
  for (const [fn, method, path, shown] of cases) {
    const response = await apps[fn].request(path, { method })
    assertEquals(response.status, 400, path)
    assertHeaders(response)
    assertEquals(await response.json(), {
      error: 'invalid_request',
      error_description: `${shown}: ${DESCRIPTIONS.unknownParameter}`,
    })
  }
})

Deno.test('Q02 GET /notes?limit=1&limit=2, ?cursor twice, a percent-encoded repeat, POST /logout?scope=local&scope=local -> 400 naming the repeated parameter', async () => {
  const cases: [Route['fn'], string, string, string][] = [
    ['notes', 'GET', '/notes?limit=1&limit=2', 'limit'],
    ['notes', 'GET', '/notes?limit=5&limit=5', 'limit'],
    ['notes', 'GET', '/notes?cursor=a&limit=1&cursor=b', 'cursor'],
    ['notes', 'GET', '/notes?limit=1&lim%69t=2', 'limit'],
    ['logout', 'POST', '/logout?scope=local&scope=local', 'scope'],
    ['logout', 'POST', '/logout?scope=&scope', 'scope'],
  ]
  for (const [fn, method, path, name] of cases) {
    const response = await apps[fn].request(path, { method })
    assertEquals(response.status, 400, path)
    assertEquals(await response.json(), {
      error: 'invalid_request',
      error_description: `${name}: ${DESCRIPTIONS.repeatedParameter}`,
    })
  }
})

Deno.test('Q03 a parameter name of 300 characters, or of 40 multi-byte characters -> named in at most 40 safe characters ending in "..."', async () => {
  for (const name of ['a'.repeat(300), '\u00e9'.repeat(40), `${'b'.repeat(36)}\u00e9`]) {
    const response = await apps.me.request(`/me?${new URLSearchParams([[name, '1']])}`)
    const description = String((await response.json()).error_description)
    const shown = description.slice(0, -`: ${DESCRIPTIONS.unknownParameter}`.length)
    assertSafelyShown(shown, name)
    assert(shown.endsWith('...'), shown)
  }
})

Deno.test('Q05 an unknown path (404), an unserved method (405) and a CORS preflight (204) are answered before the query rule', async () => {
  const notFound = await apps.notes.request('/notes/a/b?x=1&x=2')
  assertEquals(notFound.status, 404)
  assertEquals((await notFound.json()).error, 'not_found')
  const notAllowed = await apps.login.request('/login?x=1', { method: 'PUT' })
  assertEquals(notAllowed.status, 405)
  assertEquals(notAllowed.headers.get('Allow'), 'POST')
  await notAllowed.body?.cancel()
  for (const route of ROUTES) {
    const preflight = await apps[route.fn].request(`${route.path}?x=1&x=2`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': route.method },
    })
    assertEquals(preflight.status, 204, route.path)
    assert(preflight.headers.get('Access-Control-Allow-Methods')?.includes(route.method))
  }
})

Deno.test('Q04 GET /me?access_token= beside a malformed or foreign header -> what the header deserves first (bearer order kept)', async () => {
  const response = await apps.me.request('/me?access_token=x&x=1', {
    headers: { Authorization: 'Basic abc' },
  })
  assertEquals(response.status, 401)
  assertEquals(response.headers.get('WWW-Authenticate'), `Bearer realm="${REALM}"`)
  await response.body?.cancel()
})

Deno.test('Q01/Q02/Q06 a route of a new function, added for one method or for all (app.all), follows the rule its app declares; its 405 answers first', async () => {
  const app = createFunctionApp('custom', {
    corsOrigins: '*',
    methods: ['GET', 'POST'],
    query: { 'GET /': ['page'], 'ALL /echo': ['q'] },
  })
  app.get('/', (c) => c.json({ page: new URL(c.req.url).searchParams.get('page') }))
  app.all('/', methodNotAllowed(['GET']))
  app.all('/echo', (c) => c.json({ q: new URL(c.req.url).searchParams.get('q') }))
  const cases: [string, string, number, string | null][] = [
    ['GET', '/custom?page=2', 200, null],
    ['GET', '/custom?page=2&page=3', 400, `page: ${DESCRIPTIONS.repeatedParameter}`],
    ['GET', '/custom?q=1', 400, `q: ${DESCRIPTIONS.unknownParameter}`],
    ['PUT', '/custom?x=1', 405, null],
    ['PUT', '/custom/echo?q=1', 200, null],
    ['POST', '/custom/echo?q=1&page=1', 400, `page: ${DESCRIPTIONS.unknownParameter}`],
    ['DELETE', '/custom/echo?q=1&q=1', 400, `q: ${DESCRIPTIONS.repeatedParameter}`],
  ]
  for (const [method, path, status, description] of cases) {
    const response = await app.request(path, { method })
    const body = await response.json()
    assertEquals(response.status, status, `${method} ${path}`)
    if (description !== null) assertEquals(body.error_description, description)
  }
})
