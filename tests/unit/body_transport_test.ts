// Bodies cut short on the wire, which only raw bytes on a socket can send: every route that reads
// a body, served by Deno.serve on a free loopback port as in production, gets a client that
// half-closes before its Content-Length is reached or in the middle of a chunked body. The answer
// is a 400 invalid_request, nothing is logged as a failure, and the server keeps serving.
import { assertEquals } from '@std/assert'
import fc from 'fast-check'
import { DESCRIPTIONS } from '../../functions/_shared/core/errors.ts'
import { BODY_ROUTES, functionApps, type Route } from '../_helpers/function_apps.ts'
import { SPELLINGS, spellJson } from '../_helpers/json_spelling.ts'
import { capturingErrors } from '../_helpers/quietly.ts'
import { cutRequest, type Framing, rawExchange } from '../_helpers/raw_http.ts'

const { apps, credentials } = await functionApps()
const te = new TextEncoder()

/** A valid body for the route: every field at its longest, in emoji and letters. */
function bodyFor(route: Route, spelling: (typeof SPELLINGS)[number]): Uint8Array {
  const values = Object.fromEntries(
    Object.entries(route.body!).map((
      [name, max],
    ) => [name, 'é\u{1F600}'.repeat(max).slice(0, max)]),
  )
  return te.encode(spellJson(values, spelling))
}

async function withServer(route: Route, run: (port: number) => Promise<void>): Promise<void> {
  const app = apps[route.fn]
  const server = Deno.serve({ hostname: '127.0.0.1', port: 0, onListen() {} }, app.fetch)
  try {
    await run(server.addr.port)
  } finally {
    await server.shutdown()
  }
}

Deno.test('B06 on the wire: every body route x Content-Length or chunked bodies cut at the start, one byte in, the middle, one byte short, at random points -> 400 invalid_request, no log line, the server keeps serving', async () => {
  for (const route of BODY_ROUTES) {
    await withServer(route, async (port) => {
      const headers = { 'Content-Type': 'application/json', ...credentials(route) }
      const cases = fc.sample(
        fc.tuple(
          fc.constantFrom(...SPELLINGS),
          fc.constantFrom<Framing>('length', 'chunked'),
          fc.oneof(fc.constantFrom(0, 1, 0.5, -1), fc.double({ min: 0, max: 1, noNaN: true })),
          fc.constantFrom(1, 7, 1024, 16384),
        ),
        { numRuns: 12, seed: route.path.length },
      )
      for (const [spelling, framing, where, chunkSize] of cases) {
        const body = bodyFor(route, spelling)
        // Content-Length: at most one byte short; chunked: up to every chunk, but no last chunk.
        const last = framing === 'length' ? body.length - 1 : body.length
        const sent = where === -1 ? last : Math.min(last, Math.floor(where * body.length))
        const request = cutRequest(route.path, headers, body, sent, framing, chunkSize)
        const label = `${route.path} ${framing} ${sent}/${body.length} in chunks of ${chunkSize}`
        const [response, lines] = await capturingErrors(() => rawExchange(port, request))
        assertEquals(response.status, 400, `${label}\n${response.raw.slice(0, 300)}`)
        assertEquals(JSON.parse(response.body), {
          error: 'invalid_request',
          error_description: DESCRIPTIONS.incompleteBody,
        })
        assertEquals(response.headers.get('content-type'), 'application/json')
        assertEquals(response.headers.get('cache-control'), 'no-store')
        assertEquals(response.headers.get('x-content-type-options'), 'nosniff')
        assertEquals(lines, [], `nothing logged: ${label}`)
      }
      // The same server still reads whole bodies: this one to the end, to its unknown field.
      const whole = te.encode('{"unknown":"x"}')
      const after = await rawExchange(
        port,
        cutRequest(route.path, headers, whole, whole.length, 'length'),
        false,
      )
      assertEquals([after.status, JSON.parse(after.body).error_description], [
        400,
        DESCRIPTIONS.unknownField,
      ])
    })
  }
})
