// The key set the platform injects (SUPABASE_JWKS) in front of the project's JWKS endpoint: its
// keys verify with no fetch, a kid it lacks is fetched from the endpoint (rotation without a
// redeploy), and keys it holds that cannot verify here are left out instead of failing the boot.
import { assert, assertEquals } from '@std/assert'
import { assertMe } from '../_helpers/assert_auth.ts'
import { startJwksServer } from '../_helpers/jwks_server.ts'
import { claims, generateKeyPair, sign, type TestKey } from '../_helpers/keys.ts'
import { meHarness } from '../_helpers/me_harness.ts'
import { capturingErrors } from '../_helpers/quietly.ts'

const injected = await generateKeyPair('ES256', 'injected')
const rotatedIn = await generateKeyPair('ES256', 'rotated-in')
const octKey = { kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0', alg: 'HS256' }

async function tokenOf(key: TestKey, now: number) {
  const c = claims({}, now)
  return { token: await sign(key, c), ids: { sub: c.sub, session_id: c.session_id } }
}

function harnessFor(inline: unknown[], endpoint: string) {
  return meHarness({
    vars: { SUPABASE_JWKS: JSON.stringify({ keys: inline }), EDGE_AUTH_JWKS_URL: endpoint },
  })
}

Deno.test('an injected key verifies with no fetch of the JWKS endpoint; health is ready at once', async () => {
  const server = startJwksServer([injected.publicJwk])
  try {
    const h = harnessFor([injected.publicJwk], server.url)
    assertEquals(await h.auth.keysReady(), true)
    const { token, ids } = await tokenOf(injected, h.clock.now())
    await assertMe(await h.get(`Bearer ${token}`), token, ids)
    assertEquals(server.count, 0)
  } finally {
    await server.close()
  }
})

Deno.test('a key rotated in after boot (not in the injected set) -> fetched from the JWKS endpoint once, 200', async () => {
  const server = startJwksServer([injected.publicJwk, rotatedIn.publicJwk])
  try {
    const h = harnessFor([injected.publicJwk], server.url)
    const { token, ids } = await tokenOf(rotatedIn, h.clock.now())
    await assertMe(await h.get(`Bearer ${token}`), token, ids)
    assertEquals(server.count, 1)
    const again = await tokenOf(rotatedIn, h.clock.now())
    await assertMe(await h.get(`Bearer ${again.token}`), again.token, again.ids)
    assertEquals(server.count, 1, 'the fetched set is cached')
  } finally {
    await server.close()
  }
})

Deno.test('symmetric, kid-less and private keys in the injected set are left out (one line, plus an alert for private material); the usable key still verifies without a fetch', async () => {
  const server = startJwksServer([injected.publicJwk])
  try {
    const kidless = { ...rotatedIn.publicJwk, kid: undefined }
    const [h, lines] = await capturingErrors(() =>
      Promise.resolve(
        harnessFor([octKey, kidless, injected.privateJwk, injected.publicJwk], server.url),
      )
    )
    assertEquals(lines.length, 2, lines.join('\n'))
    assert(lines.some((line) => line.includes('ALERT') && line.includes('private')), lines[0])
    assert(lines.some((line) => line.includes('3 of 4 keys left out')), lines.join('\n'))
    for (const line of lines) assert(!line.includes(octKey.k), 'no key material in the log')
    const { token, ids } = await tokenOf(injected, h.clock.now())
    await assertMe(await h.get(`Bearer ${token}`), token, ids)
    assertEquals(server.count, 0)
  } finally {
    await server.close()
  }
})

Deno.test('an injected set with only a symmetric key (the CLI local set) -> the JWKS endpoint does the work, 200', async () => {
  const server = startJwksServer([injected.publicJwk])
  try {
    const [h] = await capturingErrors(() => Promise.resolve(harnessFor([octKey], server.url)))
    const { token, ids } = await tokenOf(injected, h.clock.now())
    await assertMe(await h.get(`Bearer ${token}`), token, ids)
    assertEquals(server.count, 1)
  } finally {
    await server.close()
  }
})
