// Values the JSON layer accepts but PostgreSQL or the auth server cannot hold: a NUL character, a
// lone surrogate (valid as a JSON escape, invalid in UTF-8), a cursor out of PostgreSQL's range,
// claims PostgreSQL cannot parse as jsonb. Each is refused with 400 invalid_request naming the
// field, never a 5xx, and nothing is stored differently from what was sent. Generated cases run
// against the real stack; the seed is printed.
import { assert, assertEquals } from '@std/assert'
import fc from 'fast-check'
import { decodeJwt } from 'jose'
import {
  callFunction,
  createTestUser,
  hasAuthServer,
  loginUser,
  mintToken,
  requestInit,
  testStack,
} from '../_helpers/stack.ts'

const seed = Number(Deno.env.get('EDGE_AUTH_FUZZ_SEED') ?? Date.now() % 2 ** 31)
const ignore = !hasAuthServer

/** A string with at least one character PostgreSQL's text cannot hold unchanged. */
const unstorable = fc.tuple(
  fc.string({ maxLength: 20, unit: 'grapheme' }),
  fc.constantFrom('\u0000', '\uD800', '\uDBFF', '\uDC00', '\uDFFF', '\uD83D'),
  fc.string({ maxLength: 20, unit: 'grapheme' }),
).map(([before, bad, after]) => `${before}${bad}${after}`)
  // A high surrogate followed by a low one is a valid pair: keep only what is really unstorable.
  .filter((value) => value.includes('\u0000') || !value.isWellFormed())

/** Arbitrary well-formed text, including controls, bidi marks and astral characters. */
const storable = fc.string({ minLength: 1, maxLength: 60, unit: 'grapheme' })
  .filter((value) => !value.includes('\u0000'))

async function expectInvalid(response: Response, field: string): Promise<void> {
  const text = await response.text()
  assertEquals(response.status, 400, text)
  const body = JSON.parse(text)
  assertEquals(body.error, 'invalid_request')
  assert(String(body.error_description).startsWith(`${field}: `), body.error_description)
  assertEquals(response.headers.get('Cache-Control'), 'no-store')
}

Deno.test({
  name:
    'POST /notes with a NUL or a lone surrogate in body -> 400 invalid_request naming body, nothing stored; any well-formed text -> 201 and read back unchanged',
  ignore,
  async fn() {
    console.log(`unstorable values seed ${seed}`)
    const user = await createTestUser()
    const { access_token: token } = await loginUser(user)
    await fc.assert(
      fc.asyncProperty(unstorable, async (body) => {
        await expectInvalid(await callFunction('notes', requestInit({ body }, token)), 'body')
      }),
      { seed, numRuns: 60 },
    )
    const listed = await callFunction('notes?limit=100', requestInit(undefined, token))
    assertEquals((await listed.json()).notes, [], 'nothing was stored')
    await fc.assert(
      fc.asyncProperty(storable, async (body) => {
        const created = await callFunction('notes', requestInit({ body }, token))
        const text = await created.text()
        assertEquals(created.status, 201, text)
        assertEquals(JSON.parse(text).body, body, 'stored exactly as sent')
      }),
      { seed, numRuns: 60 },
    )
  },
})

Deno.test({
  name:
    'POST /login and /refresh with a NUL or a lone surrogate in a field -> 400 invalid_request naming it, never 5xx',
  ignore,
  async fn() {
    const cases = fc.tuple(fc.constantFrom('email', 'password', 'refresh_token'), unstorable)
    await fc.assert(
      fc.asyncProperty(cases, async ([field, value]) => {
        const body = field === 'refresh_token'
          ? { refresh_token: value }
          : { email: 'someone@example.com', password: 'pw-123456', [field]: value }
        const response = await callFunction(
          field === 'refresh_token' ? 'refresh' : 'login',
          requestInit(body),
        )
        await expectInvalid(response, field)
      }),
      { seed, numRuns: 40 },
    )
  },
})

Deno.test({
  name:
    'GET /notes with a cursor out of range or malformed (huge dates, negative, non-numeric) -> 400 invalid_request naming cursor',
  ignore,
  async fn() {
    const user = await createTestUser()
    const { access_token: token } = await loginUser(user)
    const encode = (value: unknown) =>
      btoa(JSON.stringify(value)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
    const positions = fc.oneof(
      fc.bigInt({ min: 253_402_300_800_000_001n, max: 10n ** 30n }).map(String),
      fc.bigInt({ min: -(10n ** 20n), max: -1n }).map(String),
      fc.constantFrom('+275760-09-13T00:00:00.000Z', '1e20', '0x10', ' 1', '01', ''),
      fc.double().map(String).filter((text) => !/^\d+$/.test(text)),
    )
    await fc.assert(
      fc.asyncProperty(positions, async (position) => {
        const cursor = encode([position, crypto.randomUUID()])
        const response = await callFunction(`notes?cursor=${cursor}`, requestInit(undefined, token))
        await expectInvalid(response, 'cursor')
      }),
      { seed, numRuns: 60 },
    )
  },
})

Deno.test({
  name:
    'GET /notes with signed claims PostgreSQL cannot hold as jsonb (a NUL in user_metadata) -> 400 invalid_request, never 500',
  ignore,
  async fn() {
    const user = await createTestUser()
    const session = await loginUser(user)
    const claims = decodeJwt(session.access_token)
    // What a custom access-token hook could put in a real session's token.
    const token = await mintToken({
      sub: claims.sub,
      session_id: claims.session_id,
      user_metadata: { name: 'a\u0000b' },
    })
    const response = await callFunction('notes', requestInit(undefined, token))
    const text = await response.text()
    assertEquals(response.status, 400, text)
    assertEquals(JSON.parse(text).error, 'invalid_request')
  },
})

Deno.test('the gateway answers methods fetch cannot forward (TRACE, TRACK, CONNECT) with 405, Allow and CORS, never 502', async () => {
  const { url } = testStack()
  const { hostname, port } = new URL(url)
  for (const method of ['TRACE', 'TRACK', 'trace']) {
    for (const path of ['/functions/v1/me', '/auth/v1/health', '/nowhere']) {
      const conn = await Deno.connect({ hostname, port: Number(port) })
      await conn.write(
        new TextEncoder().encode(
          `${method} ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: close\r\n\r\n`,
        ),
      )
      const raw = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer())
      const [head = ''] = raw.split('\r\n\r\n')
      assert(head.startsWith('HTTP/1.1 405'), `${method} ${path}: ${head.split('\r\n')[0]}`)
      assert(/\r\nallow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\n/i.test(`${head}\r\n`))
      assert(/\r\naccess-control-allow-origin: \*\r\n/i.test(`${head}\r\n`))
    }
  }
})
