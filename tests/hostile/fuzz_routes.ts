/**
 * The real-stack fuzz targets: `login`, `refresh`, `logout` and `notes`, in process (the functions'
 * own apps, no failure floor on login) against the stack's real Supabase Auth server and
 * PostgreSQL. Shared by the bounded CI run (`fuzz_routes_test.ts`, fixed seed) and
 * `deno task fuzz`.
 *
 * Properties, on every case (recipes in `fuzz_route_recipes.ts`):
 *
 * - never a 5xx; the status is one the route may give for that method; an error has the
 *   contract's shape with a fixed description; nothing secret is echoed (the passwords, every
 *   live access and refresh token, the service role key), and an error echoes nothing sent;
 * - `login`: 200 only for the real password (the email may differ in case or surrounding spaces),
 *   and always for the exact credentials in a well-formed request, with a session of that user;
 * - `refresh`: 200 only for a real refresh token, always for a live one in a well-formed request,
 *   with a new refresh token for the same session;
 * - `logout`: 204 only for a token signed by the stack's key, always for one in a well-formed
 *   request; the session is gone afterwards unless the scope was `others`;
 * - `notes`: a well-formed `POST` is a 201 exactly when its `body` is 1 to 4000 characters that
 *   PostgreSQL holds unchanged, else a 400; what a 201 accepted reads back byte-identical through
 *   `GET /notes` and from the table; what was refused is not stored (the user's row count follows
 *   the 201s and 204s exactly); every note a `GET` lists is one stored, unchanged.
 *
 * @module
 */
import { assert, assertEquals } from '@std/assert'
import fc from 'fast-check'
import { decodeJwt } from 'jose'
import postgres from 'postgres'
import { authFromConfig } from '../../functions/_shared/auth/from_env.ts'
import { DESCRIPTIONS } from '../../functions/_shared/core/errors.ts'
import { maxJsonBodyBytes } from '../../functions/_shared/http/json_body.ts'
import { createLoginApp } from '../../functions/login/app.ts'
import { createLogoutApp } from '../../functions/logout/app.ts'
import { createNotesApp } from '../../functions/notes/app.ts'
import { createRefreshApp } from '../../functions/refresh/app.ts'
import { assertNoEcho } from '../_helpers/assert_auth.ts'
import { ManualClock } from '../_helpers/jwks_server.ts'
import {
  createTestUser,
  expiredTokenFor,
  mintToken,
  stackConfig,
  type TestStack,
  type TestUser,
} from '../_helpers/stack.ts'
import { type FuzzTarget, grantBody } from './fuzz_cases.ts'
import {
  assertErrorShape,
  isHeaderValue,
  queryValues,
  VOCABULARY,
  withShownName,
} from './fuzz_oracles.ts'
import {
  type AuthRecipe,
  bodyOf,
  type BodyRecipe,
  type CredentialRecipe,
  JSON_CONTENT_TYPES,
  type LogoutRecipe,
  logoutRecipe,
  type NotesRecipe,
  notesRecipe,
  type StackGrantRecipe,
  stackLoginRecipe,
  stackRefreshRecipe,
} from './fuzz_route_recipes.ts'

/** The names of the real-stack targets. */
export type RouteTargetName = 'stack-login' | 'stack-refresh' | 'logout' | 'notes'

/** The real-stack targets with the users, apps and connections they use. */
export interface RouteFuzzSetup {
  targets: FuzzTarget<RouteTargetName>[]
  /** Responses seen per target, by status and error code. */
  statuses: Record<RouteTargetName, Record<string, number>>
  /** Closes the database clients. */
  close(): Promise<void>
}

const FIELDS = ['email', 'password', 'refresh_token', 'body', 'limit', 'cursor', 'id']
const NOTE_LENGTH = 4000
/** The notes body cap, as the rule derives it from the field's limit. */
const NOTE_BYTES = maxJsonBodyBytes({ body: { required: true, maxLength: NOTE_LENGTH } })
const SCOPES = ['global', 'local', 'others']

// The fixed texts with the field prefix errors may carry: fuzzed input equal to a piece of one
// by chance is not an echo.
const vocabulary = [
  VOCABULARY,
  ...FIELDS.flatMap((field) => Object.values(DESCRIPTIONS).map((d) => `${field}: ${d}`)),
  'Allow: GET, POST',
  'allow: GET, POST',
  'allow: DELETE',
].join('\n')

const te = new TextEncoder()

/** What of an access token is this token's own: every token of the stack shares its header. */
function tokenSecret(token: string): string {
  return token.slice(token.indexOf('.') + 1)
}

/** An `Authorization` value and what it was made from. */
interface Credential {
  value: string | null
  signed: boolean
  session: Session | null
}

/** A live session of a user: its tokens and id. */
interface Session {
  access: string
  refresh: string
  id: string
}

/** Whether a request is well-formed around its body: POST, JSON content type, no parameters. */
function wellFormed(method: string, contentType: string | null, query: string): boolean {
  return method === 'POST' && JSON_CONTENT_TYPES.includes(contentType ?? '') &&
    parametersOf(query).length === 0
}

/** The query's parameter names, as the platform decodes a request URL's query. */
function parametersOf(query: string): string[] {
  return [...new URL(`http://x/${query}`).searchParams.keys()]
}

/**
 * The description the query rule must answer a route that takes `allowed` with, or null when
 * the query passes it (or carries a token, which the bearer rules answer).
 */
function queryRefusal(query: string, allowed: readonly string[]): string | null {
  const names = parametersOf(query)
  if (names.includes('access_token')) return null
  const seen = new Set<string>()
  for (const name of names) {
    if (!allowed.includes(name)) return DESCRIPTIONS.unknownParameter
    if (seen.has(name)) return DESCRIPTIONS.repeatedParameter
    seen.add(name)
  }
  return null
}

/** Asserts the query rule's refusal: a 400 whose description names a parameter so. */
async function assertQueryRefusal(response: Response, description: string, method: string) {
  assertEquals(response.status, 400, `the query rule: ${await response.clone().text()}`)
  if (method === 'HEAD') return
  const body = await response.clone().json()
  assert(String(body.error_description).endsWith(`: ${description}`), body.error_description)
}

/** The value a `notes` POST must store, or null when it must be refused (400). */
function acceptedNote(bytes: Uint8Array): string | null {
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    return null
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null
  if (Object.keys(parsed).some((key) => key !== 'body')) return null
  const value = (parsed as Record<string, unknown>).body
  // Characters as the column counts them: code points, an emoji one.
  if (typeof value !== 'string' || value.length < 1 || [...value].length > NOTE_LENGTH) return null
  return value.includes('\u0000') || !value.isWellFormed() ? null : value
}

/**
 * Builds the real-stack targets: one user per route (so a global logout ends none of the others'
 * sessions), the apps on the stack's configuration, a superuser connection for the storage
 * checks.
 *
 * @param stack the stack, with the auth server running
 * @returns the targets and a close function
 */
export async function setUpRouteFuzz(stack: TestStack): Promise<RouteFuzzSetup> {
  const config = stackConfig({}, stack)
  // The failure floor is timing, not behaviour: a clock that does not wait skips it.
  const login = createLoginApp(config, { clock: new ManualClock() })
  const refresh = createRefreshApp(config)
  // Two instances, as two functions: each its own caches and pool.
  const instances = [authFromConfig(config), authFromConfig(config)] as const
  const logout = createLogoutApp(config, { auth: instances[0] })
  const notes = createNotesApp(config, { auth: instances[1] })
  const superuser = postgres(stack.dbUrl, { max: 2, prepare: false, onnotice: () => {} })

  const [loginUser, refreshUser, logoutUser, notesUser] = await Promise.all(
    [0, 1, 2, 3].map(() => createTestUser({ stack })),
  ) as [TestUser, TestUser, TestUser, TestUser]
  const passwords = [loginUser, refreshUser, logoutUser, notesUser].map((u) => u.password)

  async function signIn(user: TestUser): Promise<Session> {
    const response = await login.request('/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: user.email, password: user.password }),
    })
    const text = await response.text()
    assertEquals(response.status, 200, `signing in a fuzz user: ${text}`)
    const body = JSON.parse(text)
    return {
      access: body.access_token,
      refresh: body.refresh_token,
      id: String(decodeJwt(body.access_token).session_id),
    }
  }

  const notesSession = await signIn(notesUser)
  let logoutSession: Session | null = await signIn(logoutUser)
  /** Refresh tokens not yet used, each the latest of its session. */
  let liveRefresh: Session[] = [await signIn(refreshUser)]
  /** Refresh tokens rotated out. */
  const usedRefresh: Session[] = []

  /** Everything no response may contain, at this moment. */
  const secrets = () => [
    stack.secretKey,
    stack.serviceRoleKey,
    ...passwords,
    tokenSecret(notesSession.access),
    notesSession.refresh,
    ...(logoutSession ? [tokenSecret(logoutSession.access), logoutSession.refresh] : []),
    ...liveRefresh.flatMap((s) => [tokenSecret(s.access), s.refresh]),
  ]

  const statuses: RouteFuzzSetup['statuses'] = {
    'stack-login': {},
    'stack-refresh': {},
    logout: {},
    notes: {},
  }
  const count = (target: RouteTargetName, response: Response, error = '') => {
    const key = `${response.status}${error ? ` ${error}` : ''}`
    statuses[target][key] = (statuses[target][key] ?? 0) + 1
  }

  /** Status in the allowed set (never a 5xx); error shape and no echo of `sent`. */
  async function checkAnswer(
    target: RouteTargetName,
    response: Response,
    allowed: number[],
    sent: string[],
    method: string,
  ): Promise<string> {
    const text = await response.clone().text()
    assert(allowed.includes(response.status), `status ${response.status}: ${text}`)
    const isError = response.status >= 400
    await assertNoEcho(response, isError ? [...secrets(), ...sent] : secrets(), {
      vocabulary: await withShownName(response, vocabulary),
    })
    const error = isError && method !== 'HEAD' ? await assertErrorShape(response, FIELDS) : ''
    if (response.status === 405) assert(response.headers.get('Allow'), 'a 405 says what is allowed')
    count(target, response, error)
    return error
  }

  function sendBody(method: string, body: string | Uint8Array | null): BodyInit | null {
    if (method === 'GET' || method === 'HEAD' || body === null) return null
    return typeof body === 'string' ? te.encode(body) : body as BodyInit
  }

  /**
   * The `Authorization` value of a recipe, or null for none; a live token comes from `live`.
   * `signed`: the value is `Bearer` and a token of the stack's key; `session`: the live session
   * the value was made from, if any.
   */
  async function authorization(
    recipe: AuthRecipe,
    live: () => Promise<Session>,
  ): Promise<Credential> {
    switch (recipe.kind) {
      case 'live': {
        const session = await live()
        return { value: `Bearer ${session.access}`, signed: true, session }
      }
      case 'expired': {
        const session = await live()
        return {
          value: `Bearer ${await expiredTokenFor(session.access, stack)}`,
          signed: true,
          session,
        }
      }
      case 'unknown-session':
        return { value: `Bearer ${await mintToken({}, stack)}`, signed: true, session: null }
      case 'mutated': {
        const session = await live()
        const token = session.access
        const at = recipe.at % token.length
        const changed = token.slice(0, at) + recipe.text + token.slice(at + recipe.text.length)
        return { value: `Bearer ${changed}`, signed: changed === token, session }
      }
      case 'spelt': {
        const session = await live()
        return { value: `${recipe.prefix}${session.access}`, signed: false, session }
      }
      case 'raw':
        return { value: recipe.value, signed: false, session: null }
      case 'none':
        return { value: null, signed: false, session: null }
    }
  }

  function headersFor(contentType: string | null, auth: string | null): Headers {
    const headers = new Headers()
    if (contentType !== null) headers.set('Content-Type', contentType)
    if (auth !== null) headers.set('Authorization', auth)
    return headers
  }

  // ---- notes ----

  const stored = new Map<string, string>()
  const createdIds: string[] = []

  async function storedCount(): Promise<number> {
    const [row] = await superuser<{ n: number }[]>`
      select count(*)::int as n from public.notes where user_id = ${notesUser.id}::uuid`
    return row!.n
  }

  const notesProperty = fc.asyncProperty(notesRecipe, async (recipe: NotesRecipe) => {
    const auth = await authorization(recipe.auth, () => Promise.resolve(notesSession))
    fc.pre(auth.value === null || isHeaderValue(auth.value))
    const path = recipe.path.kind === 'root'
      ? ''
      : recipe.path.kind === 'created'
      ? `/${createdIds.at(-1) ?? '00000000-0000-0000-0000-000000000000'}`
      : recipe.path.kind === 'id'
      ? `/${recipe.path.id}`
      : recipe.path.text
    const { body, text } = bodyOf(recipe.body, 'body')
    const payload = sendBody(recipe.method, body)
    const response = await notes.request(`/notes${path}${recipe.query}`, {
      method: recipe.method,
      headers: headersFor(recipe.contentType, auth.value),
      body: payload,
    })
    const root = recipe.path.kind === 'root'
    const live = auth.value === `Bearer ${notesSession.access}`
    const allowed = [400, 401, 404, 405, 413, 415]
    if (root && (recipe.method === 'GET' || recipe.method === 'HEAD')) allowed.push(200)
    if (root && recipe.method === 'POST') allowed.push(201)
    if (!root && recipe.method === 'DELETE') allowed.push(204)
    if (recipe.method === 'OPTIONS') allowed.push(204)
    const sent = [
      text ?? '',
      ...queryValues(recipe.query),
      auth.value ?? '',
      ...valuesOf(recipe.body),
    ]
    await checkAnswer('notes', response, allowed, sent, recipe.method)
    const status = response.status
    if (live && ['GET', 'POST', 'DELETE'].includes(recipe.method)) {
      assert(status !== 401 && status !== 403, `a live session refused: ${status}`)
    }

    // The query rule comes before credentials and body on every route the request matched.
    const matched = root ? ['GET', 'HEAD', 'POST'].includes(recipe.method) : recipe.method ===
        'DELETE' && recipe.path.kind !== 'raw'
    const refusal = matched
      ? queryRefusal(recipe.query, root && recipe.method !== 'POST' ? ['limit', 'cursor'] : [])
      : null
    if (refusal !== null) await assertQueryRefusal(response, refusal, recipe.method)

    const bytes = payload instanceof Uint8Array ? payload : null
    if (
      recipe.method === 'POST' && root && live && bytes !== null &&
      JSON_CONTENT_TYPES.includes(recipe.contentType ?? '') &&
      parametersOf(recipe.query).length === 0
    ) {
      const expected = bytes.length > NOTE_BYTES ? 413 : acceptedNote(bytes) === null ? 400 : 201
      assertEquals(status, expected, 'the answer to a well-formed POST /notes')
    }
    if (status === 201) {
      const value = acceptedNote(bytes ?? new Uint8Array())
      assert(value !== null, 'a 201 for a body that cannot be stored unchanged')
      const created = await response.json()
      assertEquals(created.body, value, 'the 201 answers the value sent')
      stored.set(created.id, value)
      createdIds.push(created.id)
      await assertReadBack(created.id, value)
    }
    if (status === 200 && recipe.method === 'GET') {
      const page = await response.json()
      assert(Array.isArray(page.notes), 'a page of notes')
      for (const note of page.notes) {
        assertEquals(note.body, stored.get(note.id), 'a listed note is one stored, unchanged')
      }
    }
    if (status === 204 && recipe.method === 'DELETE') {
      const id = path.slice(1)
      assert(stored.has(id), 'deleted a note that was not stored')
      stored.delete(id)
      createdIds.splice(createdIds.indexOf(id), 1)
    }
    assertEquals(await storedCount(), stored.size, 'stored rows follow the 201s and 204s exactly')
  })

  /** The note reads back unchanged through `GET /notes` and from the table. */
  async function assertReadBack(id: string, value: string): Promise<void> {
    const listed = await notes.request('/notes?limit=5', {
      headers: { Authorization: `Bearer ${notesSession.access}` },
    })
    assertEquals(listed.status, 200)
    const page = await listed.json() as { notes: { id: string; body: string }[] }
    const note = page.notes.find((n) => n.id === id)
    assert(note, 'the created note is listed')
    assertEquals(note.body, value, 'GET /notes reads back the value sent')
    const [row] = await superuser<{ body: string }[]>`
      select body from public.notes where id = ${id}::uuid`
    assertEquals(row?.body, value, 'the table holds the value sent')
  }

  // ---- logout ----

  async function liveLogoutSession(): Promise<Session> {
    logoutSession ??= await signIn(logoutUser)
    return logoutSession
  }

  async function sessionExists(id: string): Promise<boolean> {
    const [row] = await superuser<{ n: number }[]>`
      select count(*)::int as n from auth.sessions where id = ${id}::uuid`
    return row!.n > 0
  }

  const logoutProperty = fc.asyncProperty(logoutRecipe, async (recipe: LogoutRecipe) => {
    const auth = await authorization(recipe.auth, liveLogoutSession)
    fc.pre(auth.value === null || isHeaderValue(auth.value))
    const { body, text } = bodyOf(recipe.body, 'scope')
    const response = await logout.request(`/logout${recipe.query}`, {
      method: recipe.method,
      headers: headersFor(recipe.contentType, auth.value),
      body: sendBody(recipe.method, body),
    })
    const sent = [
      text ?? '',
      ...queryValues(recipe.query),
      auth.value ?? '',
      ...valuesOf(recipe.body),
    ]
    const allowed = [400, 401, 405]
    if (recipe.method === 'POST' || recipe.method === 'OPTIONS') allowed.push(204)
    await checkAnswer('logout', response, allowed, sent, recipe.method)
    if (recipe.method === 'POST') {
      const refusal = queryRefusal(recipe.query, ['scope'])
      if (refusal !== null) await assertQueryRefusal(response, refusal, recipe.method)
    }
    const query = new URL(`http://x/${recipe.query}`).searchParams
    const scopes = query.getAll('scope')
    const validScope = [...query.keys()].every((k) => k === 'scope') && scopes.length <= 1 &&
      (scopes.length === 0 || SCOPES.includes(scopes[0]!))
    if (response.status === 204 && recipe.method === 'POST') {
      // A spelling of a token of ours (another scheme case, more spaces), or a mutation that kept
      // its signing input: which signatures verify is the tokens target's business.
      const signingInput = (value: string | null) =>
        value?.replace(/^\S+\s+/, '').split('.').slice(0, 2).join('.')
      assert(
        auth.signed || recipe.auth.kind === 'spelt' ||
          (recipe.auth.kind === 'mutated' &&
            signingInput(auth.value) === signingInput(`Bearer ${logoutSession?.access}`)),
        'a 204 for a token not ours',
      )
    }
    if (recipe.method === 'POST' && validScope && auth.signed) {
      assertEquals(response.status, 204, 'logout with a token of ours')
    }
    if (response.status === 204 && recipe.method === 'POST' && auth.session !== null) {
      const ends = (scopes[0] ?? 'global') !== 'others'
      assertEquals(await sessionExists(auth.session.id), !ends, 'logout ends what its scope says')
      if (ends) logoutSession = null
    }
  })

  // ---- login and refresh ----

  function credentialBody(
    credentials: CredentialRecipe,
    names: string[],
    values: string[],
  ): { body: string; sent: string[]; intact: boolean[] } {
    const members = names.map((name, i) => [name, values[i]!] as [string, string])
    if (credentials.kind === 'changed') {
      const [name, value] = members[credentials.field]!
      members[credentials.field] = [
        name,
        credentials.replace ? credentials.text : value + credentials.text,
      ]
    }
    if (credentials.kind === 'email') {
      const email = members[0]![1]
      members[0]![1] = credentials.spelling === 'upper' ? email.toUpperCase() : ` ${email} `
    }
    if (credentials.kind === 'duplicate') members.unshift([names[0]!, credentials.decoy])
    const body = `{${members.map(([n, v]) => `${JSON.stringify(n)}:${JSON.stringify(v)}`)}}`
    // Which real values still arrive as they are (last member wins, as in JSON.parse).
    const final = Object.fromEntries(members)
    const intact = names.map((name, i) => final[name] === values[i])
    return { body, sent: [body, ...members.map(([, v]) => v)], intact }
  }

  const loginProperty = fc.asyncProperty(stackLoginRecipe, async (recipe: StackGrantRecipe) => {
    const { request, credentials } = recipe
    const names = ['email', 'password']
    let built: { body: BodyInit | null; secrets: string[] } = grantBody(request, names)
    let passwordIntact = false
    if (credentials !== null) {
      const { body, sent, intact } = credentialBody(credentials, names, [
        loginUser.email,
        loginUser.password,
      ])
      built = { body, secrets: sent }
      passwordIntact = intact[1]!
    }
    const headers = headersFor(request.contentType, null)
    if (request.forwardedFor !== null) {
      fc.pre(isHeaderValue(request.forwardedFor))
      headers.set('X-Forwarded-For', request.forwardedFor)
    }
    const response = await login.request(`/login${request.query}`, {
      method: request.method,
      headers,
      body: request.method === 'GET' ? null : built.body,
    })
    const sent = [...built.secrets, ...queryValues(request.query)]
    const error = await checkAnswer(
      'stack-login',
      response,
      [200, 400, 405, 413, 415, 429],
      sent,
      request.method,
    )
    if (response.status === 200) {
      assert(
        credentials !== null && passwordIntact && sameEmail(credentials),
        'a 200 without the real password',
      )
      const session = await response.json()
      assertEquals(session.user.id, loginUser.id, 'the session is the user whose password it was')
      assert(typeof session.refresh_token === 'string' && typeof session.access_token === 'string')
    }
    if (
      credentials?.kind === 'exact' &&
      wellFormed(request.method, request.contentType, request.query)
    ) {
      assert(response.status === 200 || error === 'rate_limited', `exact credentials: ${error}`)
    }
  })

  /** Whether the email sent still names the user after the auth server trims and lowercases it. */
  function sameEmail(credentials: CredentialRecipe): boolean {
    if (credentials.kind !== 'changed' || credentials.field !== 0) return true
    const email = credentials.replace ? credentials.text : loginUser.email + credentials.text
    return email.trim().toLowerCase() === loginUser.email
  }

  async function liveRefreshSession(): Promise<Session> {
    const session = liveRefresh.pop()
    return session ?? await signIn(refreshUser)
  }

  const refreshProperty = fc.asyncProperty(
    stackRefreshRecipe,
    async (recipe: StackGrantRecipe) => {
      const { request, credentials } = recipe
      let used: Session | null = null
      let realToken = false
      let built: { body: BodyInit | null; secrets: string[] }
      if (credentials === null) built = grantBody(request, ['refresh_token'])
      else if (credentials.kind === 'replay') {
        const old = usedRefresh.at(Math.floor(usedRefresh.length / 2))
        fc.pre(old !== undefined)
        used = old
        // A replay may end its session (reuse detection), or answer with that session's current
        // tokens: either way none of its tokens is live any more.
        liveRefresh = liveRefresh.filter((s) => s.id !== old.id)
        const body = JSON.stringify({ refresh_token: old.refresh })
        built = { body, secrets: [body, old.refresh] }
        realToken = true
      } else {
        used = await liveRefreshSession()
        const { body, sent, intact } = credentialBody(credentials, ['refresh_token'], [
          used.refresh,
        ])
        built = { body, secrets: sent }
        realToken = intact[0]!
      }
      const headers = headersFor(request.contentType, null)
      if (request.forwardedFor !== null && isHeaderValue(request.forwardedFor)) {
        headers.set('X-Forwarded-For', request.forwardedFor)
      }
      const response = await refresh.request(`/refresh${request.query}`, {
        method: request.method,
        headers,
        body: request.method === 'GET' ? null : built.body,
      })
      const sent = [...built.secrets, ...queryValues(request.query)]
      const error = await checkAnswer(
        'stack-refresh',
        response,
        [200, 400, 405, 409, 413, 415, 429],
        sent,
        request.method,
      )
      const session = response.status === 200 ? await response.json() : null
      if (session !== null) {
        assert(used !== null && realToken, 'a 200 for a refresh token never issued')
        assertEquals(session.user.id, refreshUser.id)
        assertEquals(
          decodeJwt(session.access_token).session_id,
          used.id,
          'refresh keeps the session',
        )
        assert(session.refresh_token !== used.refresh, 'the refresh token is rotated')
      }
      if (used === null) return
      if (credentials!.kind === 'replay') return
      if (session !== null) {
        usedRefresh.push(used)
        if (usedRefresh.length > 50) usedRefresh.shift()
        liveRefresh.push({
          access: session.access_token,
          refresh: session.refresh_token,
          id: used.id,
        })
        return
      }
      if (
        credentials?.kind === 'exact' &&
        wellFormed(request.method, request.contentType, request.query)
      ) {
        assertEquals(error, 'rate_limited', 'a live refresh token in a well-formed request')
      }
      // Refused before the auth server (or rate limited there): the token is still live.
      if (
        [
          'invalid_request',
          'method_not_allowed',
          'unsupported_media_type',
          'payload_too_large',
          'rate_limited',
          '',
        ].includes(error) || !realToken
      ) {
        liveRefresh.push(used)
      }
    },
  )

  return {
    targets: [
      {
        name: 'stack-login',
        weight: 3,
        property: loginProperty as fc.IAsyncProperty<[unknown]>,
      },
      {
        name: 'stack-refresh',
        weight: 3,
        property: refreshProperty as fc.IAsyncProperty<[unknown]>,
      },
      { name: 'logout', weight: 1, property: logoutProperty as fc.IAsyncProperty<[unknown]> },
      { name: 'notes', weight: 17, property: notesProperty as fc.IAsyncProperty<[unknown]> },
    ],
    statuses,
    async close() {
      for (const instance of instances) await instance.close()
      await superuser.end({ timeout: 5 })
    },
  }
}

/** The string values inside a body recipe, for the no-echo check of an error. */
function valuesOf(recipe: BodyRecipe): string[] {
  switch (recipe.kind) {
    case 'value':
    case 'bom':
      return [recipe.value]
    case 'fields':
      return recipe.fields.flatMap(([, v]) => typeof v === 'string' ? [v] : [])
    default:
      return []
  }
}
