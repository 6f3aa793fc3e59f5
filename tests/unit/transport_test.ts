// Header rules that only raw bytes on a socket can exercise: duplicate headers,
// bytes illegal in a field value, raw UTF-8, thousands of header lines. The `me` app is served by
// Deno.serve on a free loopback port, as in production.
import { assert, assertEquals, assertStringIncludes } from '@std/assert'
import { DESCRIPTIONS } from '../../functions/_shared/core/errors.ts'
import { claims, generateKeyPair, sign } from '../_helpers/keys.ts'
import { meHarness } from '../_helpers/me_harness.ts'

const key = await generateKeyPair('ES256')
const h = meHarness({ keys: [key] })
const valid = await sign(key, claims({}, h.clock.now()))

/** Serves the app, sends raw request bytes, returns the raw response text. */
async function rawExchange(port: number, head: Uint8Array | string): Promise<string> {
  const connection = await Deno.connect({ hostname: '127.0.0.1', port })
  const bytes = typeof head === 'string' ? new TextEncoder().encode(head) : head
  try {
    await connection.write(bytes).catch(() => 0)
    const chunks: Uint8Array[] = []
    const buffer = new Uint8Array(65536)
    for (;;) {
      const read = await connection.read(buffer).catch(() => null)
      if (read === null) break
      chunks.push(buffer.slice(0, read))
    }
    return new TextDecoder('latin1').decode(new Uint8Array(chunks.flatMap((c) => [...c])))
  } finally {
    try {
      connection.close()
    } catch { /* already closed by the server */ }
  }
}

function request(lines: string[]): string {
  return ['GET /me HTTP/1.1', 'Host: x', ...lines, 'Connection: close', '', ''].join('\r\n')
}

async function withServer(run: (port: number) => Promise<void>): Promise<void> {
  const server = Deno.serve({ hostname: '127.0.0.1', port: 0, onListen() {} }, h.app.fetch)
  try {
    await run(server.addr.port)
  } finally {
    await server.shutdown()
  }
}

function status(raw: string): number {
  return Number(raw.slice(9, 12))
}

Deno.test('H08 two Authorization lines (merged by Deno into "a, b") -> 400 invalid_request', async () => {
  await withServer(async (port) => {
    const raw = await rawExchange(
      port,
      request([`Authorization: Bearer ${valid}`, `Authorization: Bearer ${valid}`]),
    )
    assertEquals(status(raw), 400)
    assertStringIncludes(raw, DESCRIPTIONS.malformedHeader)
    assert(!raw.includes(valid.split('.')[2]!), 'no echo of the signature')
  })
})

Deno.test('H07 raw UTF-8 NBSP and fullwidth B on the wire -> 400 invalid_request', async () => {
  await withServer(async (port) => {
    for (const value of [`Bearer\u00a0${valid}`, `Ｂearer ${valid}`]) {
      const head = new TextEncoder().encode(request([`Authorization: ${value}`]))
      const raw = await rawExchange(port, head)
      assertEquals(status(raw), 400)
      assertStringIncludes(raw, DESCRIPTIONS.malformedHeader)
    }
  })
})

Deno.test('H07 a TAB after the scheme on the wire -> 400 invalid_request', async () => {
  await withServer(async (port) => {
    const raw = await rawExchange(port, request([`Authorization: Bearer\t${valid}`]))
    assertEquals(status(raw), 400)
    assertStringIncludes(raw, DESCRIPTIONS.malformedHeader)
  })
})

Deno.test('H14 NUL, bare CR, LF, obs-fold, space before colon -> 400 from Deno, and the server keeps serving', async () => {
  await withServer(async (port) => {
    const cases = [
      `Authorization: Bearer a\0b`,
      `Authorization: Bearer a\rb`,
      `Authorization: Bearer a\nb`,
      `Authorization: Bearer ${valid}\r\n x`,
      `Authorization : Bearer ${valid}`,
    ]
    for (const line of cases) {
      const raw = await rawExchange(port, request([line]))
      assertEquals(status(raw), 400, JSON.stringify(line.slice(0, 30)))
    }
    const after = await rawExchange(port, request([`Authorization: Bearer ${valid}`]))
    assertEquals(status(after), 200)
  })
})

Deno.test('H15 leading and trailing OWS on the wire -> 200', async () => {
  await withServer(async (port) => {
    const raw = await rawExchange(port, request([`Authorization:   Bearer ${valid}  `]))
    assertEquals(status(raw), 200)
  })
})

Deno.test('H16 5,000 header lines and a 1 MiB value -> 400 from Deno, never 500, server keeps serving', async () => {
  await withServer(async (port) => {
    const many = Array.from({ length: 5000 }, (_, i) => `X-Filler-${i}: ${'v'.repeat(20)}`)
    const raw = await rawExchange(port, request([...many, `Authorization: Bearer ${valid}`]))
    assertEquals(status(raw), 400)
    const huge = await rawExchange(
      port,
      request([`Authorization: Bearer ${'A'.repeat(1024 * 1024)}.b.c`]),
    )
    assertEquals(status(huge), 400)
    const after = await rawExchange(port, request([`Authorization: Bearer ${valid}`]))
    assertEquals(status(after), 200)
  })
})

Deno.test("H16 a 16 KiB value below Deno's own limit reaches the app -> 400 header too large", async () => {
  await withServer(async (port) => {
    const raw = await rawExchange(
      port,
      request([`Authorization: Bearer ${'A'.repeat(16 * 1024)}.b.c`]),
    )
    assertEquals(status(raw), 400)
    assertStringIncludes(raw, DESCRIPTIONS.headerTooLarge)
  })
})
