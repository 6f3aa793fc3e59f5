// The body rules of every route that reads one (login, refresh, notes, sessions/revoke), in
// process: the size cap follows from the fields' limits in characters with JSON's longest
// escapes counted, so the longest valid body fits however a client spells it (Python's
// `json.dumps` included) and one character more is a 400, not a 413; `Content-Type` parameters
// parsed as HTTP defines them; a content coding refused; a body cut short a 400, never a 500.
// Generated cases (fast-check). The real stack repeats the caps and the cut bodies
// (tests/integration/request_bodies_test.ts); raw sockets are in tests/unit/transport_test.ts.
import { assert, assertEquals, assertRejects } from '@std/assert'
import fc from 'fast-check'
import { ApiError, DESCRIPTIONS } from '../../functions/_shared/core/errors.ts'
import {
  type BodyFields,
  maxJsonBodyBytes,
  readJsonBody,
} from '../../functions/_shared/http/json_body.ts'
import { parseMediaType } from '../../functions/_shared/http/media_type.ts'
import { BODY_ROUTES, functionApps, type Route } from '../_helpers/function_apps.ts'
import { type Spelling, SPELLINGS, spellJson, stringOfLength } from '../_helpers/json_spelling.ts'
import { capturingErrors } from '../_helpers/quietly.ts'

const { apps, credentials } = await functionApps()
const te = new TextEncoder()

/** A route's fields as `readJsonBody` takes them, from the contract's limits. */
function fieldsOf(route: Route): BodyFields<string> {
  return Object.fromEntries(
    Object.entries(route.body!).map(([name, maxLength]) => [name, { required: true, maxLength }]),
  )
}

const bodyRoute = fc.constantFrom(...BODY_ROUTES)
const spelling = fc.constantFrom<Spelling>(...SPELLINGS)

/** Each field of a route at exactly its longest, one of them `extra` characters longer. */
function longestValues(route: Route, extra = 0): fc.Arbitrary<Record<string, string>> {
  const names = Object.keys(route.body!)
  return fc.nat(names.length - 1).chain((over) =>
    fc.tuple(
      ...names.map((name, i) => stringOfLength(route.body![name]! + (i === over ? extra : 0))),
    )
      .map((values) => Object.fromEntries(names.map((name, i) => [name, values[i]!])))
  )
}

function jsonRequest(body: BodyInit | null, headers: Record<string, string> = {}): Request {
  return new Request('http://x/', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body,
  })
}

/** A request to a body route of the in-process apps, authenticated as the route needs. */
function post(route: Route, body: BodyInit | null, headers: Record<string, string> = {}) {
  return Promise.resolve(apps[route.fn].request(route.path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...credentials(route), ...headers },
    body,
  }))
}

/** A body whose stream delivers `bytes` and then fails, as a connection closed early does. */
function cutStream(bytes: Uint8Array, chunks: number): ReadableStream<Uint8Array> {
  const size = Math.max(1, Math.ceil(bytes.length / Math.max(1, chunks)))
  let at = 0
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.error(new Error('connection closed early'))
      controller.enqueue(bytes.slice(at, at + size))
      at += size
    },
  })
}

/** Asserts an error answer of an app: status, `error`, description, the contract's headers. */
async function assertAnswer(
  response: Response,
  status: number,
  error: string,
  description: string,
): Promise<void> {
  const text = await response.text()
  assertEquals(response.status, status, text)
  assertEquals(JSON.parse(text), { error, error_description: description })
  assertEquals(response.headers.get('Content-Type'), 'application/json')
  assertEquals(response.headers.get('Cache-Control'), 'no-store')
  assertEquals(response.headers.get('X-Content-Type-Options'), 'nosniff')
  assertEquals(response.headers.get('Access-Control-Allow-Origin'), '*')
}

/** Asserts what `readJsonBody` threw. */
async function assertRefusal(
  reading: Promise<unknown>,
  status: number,
  key: keyof typeof DESCRIPTIONS,
  field?: string,
): Promise<void> {
  const error = await assertRejects(() => reading, ApiError) as ApiError
  assertEquals([error.status, error.descriptionKey, error.field], [status, key, field])
}

// ---- the size cap ----

Deno.test('B01 every body route x the longest value of every field, characters of every plane, spelt by JSON.stringify, Python json.dumps (also indent=2) or every character escaped -> accepted, values unchanged', async () => {
  await fc.assert(
    fc.asyncProperty(
      bodyRoute.chain((route) => fc.tuple(fc.constant(route), longestValues(route), spelling)),
      async ([route, values, how]) => {
        const text = spellJson(values, how)
        const fields = fieldsOf(route)
        assert(te.encode(text).length <= maxJsonBodyBytes(fields), 'the longest body fits the cap')
        const read = await readJsonBody(jsonRequest(text), { fields })
        assertEquals({ ...read }, values)
      },
    ),
    { numRuns: 120, seed: 0xb0d1 },
  )
})

Deno.test('B01 a 4,000-character note of Python-escaped emoji (about 48 KB), of Python-escaped BMP letters (24 KB) -> accepted; of 4,001 -> 400 body: too long, not 413', async () => {
  const fields = fieldsOf(BODY_ROUTES.find((route) => route.fn === 'notes')!)
  for (const char of ['\u{1F600}', '\u00e9', '\u4e2d']) {
    const text = spellJson({ body: char.repeat(4000) }, 'python')
    const read = await readJsonBody(jsonRequest(text), { fields })
    assertEquals(read.body, char.repeat(4000))
    await assertRefusal(
      readJsonBody(jsonRequest(spellJson({ body: char.repeat(4001) }, 'python')), { fields }),
      400,
      'fieldLength',
      'body',
    )
  }
})

Deno.test('B02 every body route x one field one to three characters over its limit, in any spelling -> 400 invalid_request naming the field, never 413', async () => {
  await fc.assert(
    fc.asyncProperty(
      bodyRoute.chain((route) =>
        fc.tuple(
          fc.constant(route),
          fc.integer({ min: 1, max: 3 }).chain((extra) => longestValues(route, extra)),
          spelling,
        )
      ),
      async ([route, values, how]) => {
        const over = Object.keys(values).find((name) =>
          [...values[name]!].length > route.body![name]!
        )!
        const response = await post(route, spellJson(values, how))
        await assertAnswer(response, 400, 'invalid_request', `${over}: ${DESCRIPTIONS.fieldLength}`)
      },
    ),
    { numRuns: 60, seed: 0xb0d2 },
  )
})

Deno.test('B03 every body route: a valid body padded with whitespace to exactly the cap -> read; one byte more, declared or streamed -> 413', async () => {
  for (const route of BODY_ROUTES) {
    const fields = fieldsOf(route)
    const cap = maxJsonBodyBytes(fields)
    const values = Object.fromEntries(Object.keys(route.body!).map((name) => [name, 'v']))
    const text = JSON.stringify(values)
    const exact = text + ' '.repeat(cap - te.encode(text).length)
    assertEquals({ ...await readJsonBody(jsonRequest(exact), { fields }) }, values)
    const over = `${exact} `
    await assertRefusal(readJsonBody(jsonRequest(over), { fields }), 413, 'payloadTooLarge')
    // Streamed, without a length: the cap holds while reading.
    const stream = new Blob([over]).stream()
    await assertRefusal(readJsonBody(jsonRequest(stream), { fields }), 413, 'payloadTooLarge')
    const response = await post(route, over)
    await assertAnswer(response, 413, 'payload_too_large', DESCRIPTIONS.payloadTooLarge)
  }
})

Deno.test('B03 the cap of each route follows from its fields: 12 bytes a character, 6 a name character, and the envelope', () => {
  for (const route of BODY_ROUTES) {
    const fields = fieldsOf(route)
    const cap = maxJsonBodyBytes(fields)
    let least = 2
    for (const [name, max] of Object.entries(route.body!)) least += 6 * name.length + 12 * max + 6
    assert(cap >= least, `${route.path}: ${cap} < ${least}`)
    // And not much more: the rest is whitespace an encoder may add.
    assert(cap - least <= 64 * (Object.keys(fields).length + 1), `${route.path}: ${cap}`)
  }
})

// ---- Content-Type and Content-Encoding ----

/** Spellings of `utf-8` a charset parameter may carry: any case, quoted, with escaped characters. */
const utf8Value = fc.tuple(
  fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
  fc.constantFrom('token', 'quoted', 'escaped'),
).map(([upper, form]) => {
  const value = [...'utf-8'].map((c, i) => upper[i] ? c.toUpperCase() : c).join('')
  if (form === 'token') return value
  if (form === 'quoted') return `"${value}"`
  return `"${[...value].map((c) => `\\${c}`).join('')}"`
})

const ows = fc.constantFrom('', ' ', '\t', '  ', ' \t')
const caseOf = (text: string) =>
  fc.array(fc.boolean(), { minLength: text.length, maxLength: text.length }).map((upper) =>
    [...text].map((c, i) => upper[i] ? c.toUpperCase() : c).join('')
  )

/** `application/json` with an optional charset of utf-8, spelt any way HTTP allows. */
const acceptedContentType = fc.tuple(
  caseOf('application/json'),
  fc.option(fc.tuple(ows, ows, caseOf('charset'), utf8Value)),
  fc.boolean(),
).map(([type, charset, trailing]) => {
  const parameter = charset ? `${charset[0]};${charset[1]}${charset[2]}=${charset[3]}` : ''
  return `${type}${parameter}${trailing ? ';' : ''}`
})

const refusedContentType = fc.oneof(
  fc.constantFrom(
    'application/json; charset=utf-16',
    'application/json; charset="utf-16"',
    'application/json; charset=latin1',
    'application/json; charset=utf8',
    'application/json; charset="utf-8 "',
    'application/json; charset=""',
    'application/json; charset=',
    'application/json; charset = utf-8',
    'application/json; charset="utf-8',
    'application/json; charset=utf-8; charset=utf-8',
    'application/json; charset=utf-8, text/plain',
    'application/json, text/plain',
    'application/json; foo=bar',
    'application/json; charset=utf-8; foo=bar',
    'application/json utf-8',
    'application /json',
    'application/jsonx',
    'application/merge-patch+json',
    'text/json',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    '',
  ),
  // Any other charset, spelt like the accepted ones.
  fc.tuple(caseOf('application/json'), fc.stringMatching(/^[a-z0-9-]{1,12}$/)).filter(([, c]) =>
    c !== 'utf-8'
  ).map(([type, charset]) => `${type}; charset=${charset}`),
)

Deno.test('B04 Content-Type application/json with charset utf-8 in any case, quoted, escaped, with whitespace around ";" -> read', async () => {
  await fc.assert(
    fc.asyncProperty(acceptedContentType, async (type) => {
      const media = parseMediaType(type)
      assertEquals(media?.essence, 'application/json', type)
      const read = await readJsonBody(jsonRequest('{"a":"b"}', { 'Content-Type': type }), {
        fields: { a: { required: true, maxLength: 1 } },
      })
      assertEquals(read.a, 'b')
    }),
    { numRuns: 300, seed: 0xb0d4 },
  )
})

Deno.test('B04 every body route x Content-Type with another charset, another parameter, a repeat, broken quoting, another type -> 415 unsupported_media_type', async () => {
  await fc.assert(
    fc.asyncProperty(bodyRoute, refusedContentType, async (route, type) => {
      const response = await post(route, '{}', { 'Content-Type': type })
      await assertAnswer(
        response,
        415,
        'unsupported_media_type',
        DESCRIPTIONS.unsupportedMediaType,
      )
    }),
    { numRuns: 200, seed: 0xb0d5 },
  )
})

Deno.test('B04 parseMediaType: quoted strings unescaped, names lower-cased, values kept, anything off the grammar undefined', () => {
  assertEquals(parseMediaType('Application/JSON ; CharSet="UTF\\-8" ;; q="a\\"b;c"'), {
    essence: 'application/json',
    parameters: [['charset', 'UTF-8'], ['q', 'a"b;c']],
  })
  for (
    const bad of ['json', '/json', 'a/b c', 'a/b; x', 'a/b; x=', 'a/b; x="y', 'a/b;x="\u0001"']
  ) {
    assertEquals(parseMediaType(bad), undefined, bad)
  }
})

const encodings = ['gzip', 'x-gzip', 'br', 'deflate', 'compress', 'zstd', 'aes128gcm', 'chunked']
const refusedEncoding = fc.oneof(
  fc.tuple(fc.constantFrom(...encodings), fc.boolean()).map(([coding, upper]) =>
    upper ? coding.toUpperCase() : coding
  ),
  fc.constantFrom('identity, gzip', 'gzip, identity', 'identity;q=1', 'identityx', 'none'),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/).filter((c) => c !== 'identity'),
)
const identityEncoding = fc.constantFrom(
  'identity',
  'IDENTITY',
  ' identity ',
  'identity, identity',
  '',
)

Deno.test('B05 every body route x Content-Encoding gzip, br, deflate, any other coding or a list with one -> 415 naming the encoding, Accept-Encoding: identity; identity -> read', async () => {
  await fc.assert(
    fc.asyncProperty(bodyRoute, refusedEncoding, async (route, coding) => {
      const response = await post(route, '{}', { 'Content-Encoding': coding })
      assertEquals(response.headers.get('Accept-Encoding'), 'identity')
      await assertAnswer(response, 415, 'unsupported_media_type', DESCRIPTIONS.unsupportedEncoding)
    }),
    { numRuns: 150, seed: 0xb0d6 },
  )
  await fc.assert(
    fc.asyncProperty(identityEncoding, async (coding) => {
      const read = await readJsonBody(jsonRequest('{"a":"b"}', { 'Content-Encoding': coding }), {
        fields: { a: { required: true, maxLength: 1 } },
      })
      assertEquals(read.a, 'b')
    }),
  )
})

// ---- bodies cut short ----

Deno.test('B06 every body route x a valid body cut at any byte, in one to nine chunks, the stream then failing -> 400 invalid_request, no log line', async () => {
  await fc.assert(
    fc.asyncProperty(
      bodyRoute.chain((route) => fc.tuple(fc.constant(route), longestValues(route), spelling)),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.integer({ min: 1, max: 9 }),
      async ([route, values, how], at, chunks) => {
        const bytes = te.encode(spellJson(values, how))
        const cut = bytes.slice(0, Math.floor(at * bytes.length))
        const [response, lines] = await capturingErrors(() =>
          post(route, cutStream(cut, chunks), { 'Content-Length': String(bytes.length) })
        )
        await assertAnswer(response, 400, 'invalid_request', DESCRIPTIONS.incompleteBody)
        assertEquals(lines, [], 'nothing logged')
      },
    ),
    { numRuns: 80, seed: 0xb0d7 },
  )
})
