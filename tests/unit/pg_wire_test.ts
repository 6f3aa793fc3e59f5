// The PostgreSQL client's pure parts: cutting a byte stream into messages whatever the chunking,
// reading ErrorResponse fields, values in text format both ways, templates into statements, and
// connection URLs. The client against a real server is tests/integration/pg_client_test.ts.
import { assertEquals, assertThrows } from '@std/assert'
import fc from 'fast-check'
import { backendMessages, errorFields } from '../../functions/_shared/db/pg_protocol.ts'
import { parseValue, serializeValue } from '../../functions/_shared/db/pg_types.ts'
import { compile, createSql } from '../../functions/_shared/db/sql.ts'
import { parseConnectionUrl } from '../../functions/_shared/db/pg_options.ts'
import { backendMessage } from '../_helpers/pg_messages.ts'

const encoder = new TextEncoder()

/** A reader handing out `stream` in the given chunk sizes, as a socket might. */
function chunked(stream: Uint8Array, sizes: number[]) {
  let offset = 0
  let turn = 0
  return (buffer: Uint8Array) => {
    if (offset >= stream.length) return Promise.resolve(null)
    const size = Math.min(sizes[turn++ % sizes.length]!, buffer.length, stream.length - offset)
    buffer.set(stream.subarray(offset, offset + size))
    offset += size
    return Promise.resolve(size)
  }
}

Deno.test('backend messages are cut the same whatever the chunking of the stream (generated)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(fc.constantFrom('D', 'C', 'Z', 'T'), fc.uint8Array({ maxLength: 300 })), {
        maxLength: 20,
      }),
      fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 10 }),
      async (messages, sizes) => {
        const stream = new Uint8Array(messages.flatMap(([t, b]) => [...backendMessage(t, b)]))
        const seen = []
        for await (const m of backendMessages(chunked(stream, sizes))) {
          seen.push([String.fromCharCode(m.type), m.body])
        }
        assertEquals(seen, messages)
      },
    ),
    { numRuns: 300 },
  )
})

Deno.test('a backend message with an impossible length -> error, never a wait for 2 GiB', async () => {
  for (const length of [0, 3, -1, 0x7fffffff]) {
    const bytes = new Uint8Array(5)
    bytes[0] = 'D'.charCodeAt(0)
    new DataView(bytes.buffer).setInt32(1, length)
    const read = async () => {
      for await (const _ of backendMessages(chunked(bytes, [5]))) { /* drain */ }
    }
    let error: unknown
    await read().catch((e) => error = e)
    assertEquals((error as Error).message, `Malformed message: length ${length}`)
  }
})

Deno.test('ErrorResponse fields are read by their codes', () => {
  const body = encoder.encode('SERROR\0VERROR\0C22012\0Mdivision by zero\0Dno detail\0\0')
  assertEquals(errorFields(body), {
    S: 'ERROR',
    V: 'ERROR',
    C: '22012',
    M: 'division by zero',
    D: 'no detail',
  })
})

Deno.test('timestamps in ISO text format are read to the millisecond, any offset (generated)', () => {
  fc.assert(
    fc.property(
      fc.date({ min: new Date('1000-01-01T00:00:00Z'), max: new Date('9000-12-31T23:59:59Z') }),
      fc.integer({ min: -12 * 60, max: 14 * 60 }).map((m) => m - (m % 15)),
      fc.integer({ min: 0, max: 999 }),
      (date, offsetMinutes, micros) => {
        if (Number.isNaN(date.getTime())) return
        const local = new Date(date.getTime() + offsetMinutes * 60_000).toISOString()
        const sign = offsetMinutes < 0 ? '-' : '+'
        const abs = Math.abs(offsetMinutes)
        const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}` +
          (abs % 60 === 0 ? '' : `:${String(abs % 60).padStart(2, '0')}`)
        const text = `${local.slice(0, 10)} ${local.slice(11, 23)}${
          String(micros).padStart(3, '0')
        }${offset}`
        assertEquals((parseValue(1184, text) as Date).toISOString(), date.toISOString())
      },
    ),
    { numRuns: 1000 },
  )
  assertEquals((parseValue(1082, '2026-12-01') as Date).toISOString(), '2026-12-01T00:00:00.000Z')
  assertEquals(
    (parseValue(1114, '2026-12-01 10:00:00') as Date).toISOString(),
    '2026-12-01T10:00:00.000Z',
  )
  assertEquals(Number.isNaN((parseValue(1184, 'garbage') as Date).getTime()), true)
})

Deno.test('column values by type: int8 and numeric stay exact strings, json parsed, NULL is null', () => {
  assertEquals(parseValue(20, '9007199254740993'), '9007199254740993')
  assertEquals(parseValue(1700, '0.1000000000000000000001'), '0.1000000000000000000001')
  assertEquals(parseValue(23, '-42'), -42)
  assertEquals(parseValue(16, 't'), true)
  assertEquals(parseValue(16, 'f'), false)
  assertEquals(parseValue(3802, '{"a":[1,"x"]}'), { a: [1, 'x'] })
  assertEquals(parseValue(17, '\\x00ff'), new Uint8Array([0, 255]))
  assertEquals(
    parseValue(2950, 'c9a9e2f4-0000-4000-8000-000000000000'),
    'c9a9e2f4-0000-4000-8000-000000000000',
  )
  assertEquals(parseValue(23, null), null)
})

Deno.test('parameters: strings and numbers untyped (the query decides), the rest typed', () => {
  assertEquals(serializeValue('x'), { text: 'x', type: 0 })
  assertEquals(serializeValue(1.5), { text: '1.5', type: 0 })
  assertEquals(serializeValue(10n), { text: '10', type: 20 })
  assertEquals(serializeValue(false), { text: 'f', type: 16 })
  assertEquals(serializeValue(null), { text: null, type: 0 })
  assertEquals(serializeValue(undefined), { text: null, type: 0 })
  assertEquals(serializeValue(new Date(0)), { text: '1970-01-01T00:00:00.000Z', type: 1184 })
  assertEquals(serializeValue(new Uint8Array([1, 171])), { text: '\\x01ab', type: 17 })
  assertEquals(serializeValue({ a: 1 }), { text: '{"a":1}', type: 0 })
  assertThrows(() => serializeValue(() => 1), TypeError)
  assertThrows(() => serializeValue(Symbol('s')), TypeError)
})

// Fragments are built by a client's `fragment` tag; this client never connects (no query runs).
const offline = createSql(
  parseConnectionUrl('postgres://u@127.0.0.1:1/db', { applicationName: 't', connectTimeoutMs: 1 }),
  { max: 1, idleTimeoutMs: 1 },
)

function template(strings: string[]): TemplateStringsArray {
  return Object.assign([...strings], { raw: strings }) as unknown as TemplateStringsArray
}

Deno.test('a template becomes one statement: values are numbered parameters, fragments inline (generated)', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 8 }), (values) => {
      // A fragment holding every other value, placed in the middle.
      const inner = { strings: ['(', ...values.map(() => ' + ')].slice(0, values.length + 1) }
      inner.strings[inner.strings.length - 1] += ')'
      const { text, parameters } = compile(
        ['select ', ' as a, ', ' as b'],
        [values[0] ?? null, offline.fragment(template(inner.strings), ...values.slice(1)), 'end'],
      )
      assertEquals(parameters.length, 1 + Math.max(values.length - 1, 0) + 1)
      assertEquals(parameters.at(-1), 'end')
      const numbers = [...text.matchAll(/\$(\d+)/g)].map((m) => Number(m[1]))
      assertEquals(numbers, numbers.map((_, i) => i + 1))
      // No value ever reaches the text.
      for (const value of values) {
        if (typeof value === 'string' && value.length > 3) assertEquals(text.includes(value), false)
      }
    }),
    { numRuns: 300 },
  )
  assertThrows(
    () => compile(['', ...Array(65_536).fill(',')], Array(65_536).fill(1)),
    TypeError,
    'at most 65535 parameters',
  )
})

Deno.test('connection URLs: percent-encoded credentials, libpq query settings, no URL in errors', () => {
  const defaults = { applicationName: 'edge-auth', connectTimeoutMs: 3000 }
  assertEquals(
    parseConnectionUrl(
      'postgresql://postgres.ref:p%40ss%3Aw%2Frd@aws-0-eu.pooler.supabase.com:6543/postgres?sslmode=verify-full&sslrootcert=/ca.crt&connect_timeout=5&application_name=app',
      defaults,
    ),
    {
      hostname: 'aws-0-eu.pooler.supabase.com',
      port: 6543,
      user: 'postgres.ref',
      password: 'p@ss:w/rd',
      database: 'postgres',
      applicationName: 'app',
      tls: 'require',
      rootCertificateFile: '/ca.crt',
      connectTimeoutMs: 5000,
    },
  )
  const plain = parseConnectionUrl('postgres://u@[::1]/db', defaults)
  assertEquals([plain.hostname, plain.port, plain.tls, plain.password], [
    '::1',
    5432,
    'disable',
    '',
  ])
  assertEquals(parseConnectionUrl('postgres://h/?sslmode=prefer', defaults).tls, 'prefer')
  for (
    const [url, message] of [
      ['http://u:secret@h/db', 'must be a postgres:// URL'],
      ['postgres://u:secret@h/db?sslmode=bogus', 'has an unknown sslmode'],
      ['postgres://u:secret@h/db?connect_timeout=-1', 'has an invalid connect_timeout'],
      ['postgres://u:%E0%A4%A@h/db', 'has a malformed password'],
      ['not a url secret', 'is not a valid URL'],
    ]
  ) {
    const error = assertThrows(() => parseConnectionUrl(url!, defaults), TypeError)
    assertEquals(error.message, message)
  }
})

Deno.test('a 5 MiB backend message in 1 KiB reads arrives whole, and small ones after it', async () => {
  const big = new Uint8Array(5 * 1024 * 1024).map((_, i) => i % 251)
  const stream = new Uint8Array([
    ...backendMessage('D', big),
    ...backendMessage('C', encoder.encode('SELECT 1\0')),
    ...backendMessage('Z', encoder.encode('I')),
  ])
  const seen: [string, number][] = []
  let same = false
  for await (const m of backendMessages(chunked(stream, [1024]))) {
    seen.push([String.fromCharCode(m.type), m.body.length])
    if (m.type === 'D'.charCodeAt(0)) same = m.body.every((byte, i) => byte === big[i])
  }
  assertEquals(seen, [['D', big.length], ['C', 9], ['Z', 1]])
  assertEquals(same, true)
})
