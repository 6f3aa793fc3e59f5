// Header rules that only raw bytes on a socket can exercise: duplicate headers,
// bytes illegal in a field value, raw UTF-8, thousands of header lines. The `me` app is served by
// Deno.serve on a free loopback port, as in production.
import { assert, assertEquals, assertStringIncludes } from '@std/assert'
import { DESCRIPTIONS } from '../../functions/_shared/core/errors.ts'
import { claims, generateKeyPair, sign } from '../_helpers/keys.ts'
import { meHarness } from '../_helpers/me_harness.ts'
import { rawExchange, type RawResponse } from '../_helpers/raw_http.ts'

const key = await generateKeyPair('ES256')
const h = meHarness({ keys: [key] })
const valid = await sign(key, claims({}, h.clock.now()))

/** Sends a whole request's raw bytes (not half-closed) and reads the answer. */
function exchange(port: number, bytes: Uint8Array | string): Promise<RawResponse> {
  return rawExchange(port, bytes, false)
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

Deno.test('H08 two Authorization lines (merged by Deno into "a, b") -> 400 invalid_request', async () => {
  await withServer(async (port) => {
    const response = await exchange(
      port,
      request([`Authorization: Bearer ${valid}`, `Authorization: Bearer ${valid}`]),
    )
    assertEquals(response.status, 400)
    assertStringIncludes(response.raw, DESCRIPTIONS.malformedHeader)
    assert(!response.raw.includes(valid.split('.')[2]!), 'no echo of the signature')
  })
})

Deno.test('H07 raw UTF-8 NBSP and fullwidth B on the wire -> 400 invalid_request', async () => {
  await withServer(async (port) => {
    for (const value of [`Bearer\u00a0${valid}`, `Ｂearer ${valid}`]) {
      const head = new TextEncoder().encode(request([`Authorization: ${value}`]))
      const response = await exchange(port, head)
      assertEquals(response.status, 400)
      assertStringIncludes(response.raw, DESCRIPTIONS.malformedHeader)
    }
  })
})

Deno.test('H07 a TAB after the scheme on the wire -> 400 invalid_request', async () => {
  await withServer(async (port) => {
    const response = await exchange(port, request([`Authorization: Bearer\t${valid}`]))
    assertEquals(response.status, 400)
    assertStringIncludes(response.raw, DESCRIPTIONS.malformedHeader)
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
      const response = await exchange(port, request([line]))
      assertEquals(response.status, 400, JSON.stringify(line.slice(0, 30)))
    }
    const after = await exchange(port, request([`Authorization: Bearer ${valid}`]))
    assertEquals(after.status, 200)
  })
})

Deno.test('H15 leading and trailing OWS on the wire -> 200', async () => {
  await withServer(async (port) => {
    const response = await exchange(port, request([`Authorization:   Bearer ${valid}  `]))
    assertEquals(response.status, 200)
  })
})

Deno.test('H16 5,000 header lines and a 1 MiB value -> 400 from Deno, never 500, server keeps serving', async () => {
  await withServer(async (port) => {
    const many = Array.from({ length: 5000 }, (_, i) => `X-Filler-${i}: ${'v'.repeat(20)}`)
    const response = await exchange(port, request([...many, `Authorization: Bearer ${valid}`]))
    assertEquals(response.status, 400)
    const huge = await exchange(
      port,
      request([`Authorization: Bearer ${'A'.repeat(1024 * 1024)}.b.c`]),
    )
    assertEquals(huge.status, 400)
    const after = await exchange(port, request([`Authorization: Bearer ${valid}`]))
    assertEquals(after.status, 200)
  })
})

Deno.test("H16 a 16 KiB value below Deno's own limit reaches the app -> 400 header too large", async () => {
  await withServer(async (port) => {
    const response = await exchange(
      port,
      request([`Authorization: Bearer ${'A'.repeat(16 * 1024)}.b.c`]),
    )
    assertEquals(response.status, 400)
    assertStringIncludes(response.raw, DESCRIPTIONS.headerTooLarge)
  })
})
