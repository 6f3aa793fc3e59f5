// The Authorization header and token transport (H rows), through the `me`
// app in process, and through a real socket where only raw bytes can build the case.
import { assert, assertEquals } from '@std/assert'
import { assertAuthError, assertMe } from '../_helpers/assert_auth.ts'
import { claims, generateKeyPair, rawJws, sign } from '../_helpers/keys.ts'
import { meHarness } from '../_helpers/me_harness.ts'

const key = await generateKeyPair('ES256')
const h = meHarness({ keys: [key] })
const payload = claims({}, h.clock.now())
const valid = await sign(key, payload)
const expectedIds = { sub: payload.sub, session_id: payload.session_id }
const secrets = [valid, String(payload.sub), String(payload.session_id)]

Deno.test('H01 no Authorization and no access_token anywhere -> 401 no error code', async () => {
  await assertAuthError(await h.get(), 'NOCRED', 'missingCredentials')
})

Deno.test('H02 Bearer <valid> -> 200 with the identity', async () => {
  await assertMe(await h.get(`Bearer ${valid}`), valid, expectedIds)
})

Deno.test('H03 scheme case variants bearer/BEARER/BeArEr -> 200', async () => {
  for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
    await assertMe(await h.get(`${scheme} ${valid}`), valid, expectedIds)
  }
})

Deno.test('H04 other schemes Basic/Token/DPoP/JWT -> 401 no error code', async () => {
  for (const value of ['Basic dXNlcjpwYXNz', `Token ${valid}`, `DPoP ${valid}`, `JWT ${valid}`]) {
    await assertAuthError(await h.get(value), 'NOCRED', 'missingCredentials', secrets)
  }
})

Deno.test('H05 empty value, "Bearer", "Bearer " -> 400 invalid_request', async () => {
  for (const value of ['', 'Bearer', 'Bearer ']) {
    await assertAuthError(await h.get(value), 'BADREQ', 'malformedHeader')
  }
})

Deno.test('H06 Bearer followed by two or more spaces -> 200 (RFC 6750 1*SP)', async () => {
  for (const spaces of ['  ', '     ']) {
    await assertMe(await h.get(`Bearer${spaces}${valid}`), valid, expectedIds)
  }
})

Deno.test('H07 TAB, NBSP (as Deno delivers its UTF-8 bytes), fullwidth B -> 400', async () => {
  const latin1 = (text: string) => String.fromCharCode(...new TextEncoder().encode(text)) // bytes as Deno hands them over
  for (
    const value of [`Bearer\t${valid}`, latin1(`Bearer\u00a0${valid}`), latin1(`Ｂearer ${valid}`)]
  ) {
    await assertAuthError(await h.get(value), 'BADREQ', 'malformedHeader', secrets)
  }
})

Deno.test('H08 extra parameters or merged headers -> 400 invalid_request', async () => {
  for (
    const value of [
      `Bearer ${valid} extra`,
      `Bearer ${valid},`,
      'Bearer a b',
      `Bearer ${valid}, Bearer ${valid}`,
    ]
  ) {
    await assertAuthError(await h.get(value), 'BADREQ', 'malformedHeader', secrets)
  }
})

Deno.test('H10 token in the header and in the query, a form body or a JSON body -> 400 more than one method', async () => {
  const bearer = `Bearer ${valid}`
  await assertAuthError(
    await h.get(bearer, {}, `/me?access_token=${valid}`),
    'BADREQ',
    'multipleMethods',
    secrets,
  )
  const form = {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: `access_token=${valid}`,
  }
  await assertAuthError(await h.api(bearer, form), 'BADREQ', 'multipleMethods', secrets)
  const json = {
    method: 'POST',
    headers: { 'Content-Type': 'application/json; charset=utf-8' },
    body: JSON.stringify({ access_token: valid }),
  }
  await assertAuthError(await h.api(bearer, json), 'BADREQ', 'multipleMethods', secrets)
})

Deno.test('H10 a cookie is not a token-carrying method here: header + cookie -> 200', async () => {
  const response = await h.get(`Bearer ${valid}`, { headers: { Cookie: `access_token=${valid}` } })
  await assertMe(response, valid, expectedIds)
})

Deno.test('H11 token only in ?access_token=, on GET and POST -> 400, query not echoed', async () => {
  for (const method of ['GET', 'POST']) {
    // (the me app answers POST with 405 before authenticating, so the POST goes to /api)
    const response = await h.api(undefined, { method }, `/api?access_token=${valid}&x=1`)
    await assertAuthError(response, 'BADREQ', 'tokenInQuery', [...secrets, `access_token=`])
  }
  // Present even when empty: the parameter itself is unsupported.
  await assertAuthError(await h.get(undefined, {}, '/me?access_token='), 'BADREQ', 'tokenInQuery')
})

Deno.test('H12 token only in a form or JSON body -> 400 invalid_request', async () => {
  const bodies: [string, string][] = [
    ['application/x-www-form-urlencoded', `a=1&access_token=${valid}`],
    ['application/json', JSON.stringify({ access_token: valid })],
    ['application/vnd.api+json', JSON.stringify({ access_token: valid })],
  ]
  for (const [type, body] of bodies) {
    const response = await h.api(undefined, {
      method: 'POST',
      headers: { 'Content-Type': type },
      body,
    })
    await assertAuthError(response, 'BADREQ', 'tokenInQuery', secrets)
  }
})

Deno.test('H12 bodies without a top-level access_token field are not refused', async () => {
  const cases: [string, string][] = [
    ['application/json', JSON.stringify({ note: 'access_token' })],
    ['application/json', '{"access_token"'],
    ['application/json', JSON.stringify([{ access_token: 'x' }])],
    ['text/plain', `access_token=${valid}`],
  ]
  for (const [type, body] of cases) {
    const response = await h.api(undefined, {
      method: 'POST',
      headers: { 'Content-Type': type },
      body,
    })
    await assertAuthError(response, 'NOCRED', 'missingCredentials', secrets)
  }
  // A header token with a harmless JSON body reaches the handler, which can still read the body.
  const response = await h.api(`Bearer ${valid}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: '{"note":"hi"}',
  })
  const body = await assertMe(response, valid, expectedIds)
  assertEquals(body.received, '{"note":"hi"}' as unknown)
})

Deno.test('H15 leading and trailing whitespace around the value -> 200 (trimmed by the platform)', async () => {
  await assertMe(await h.get(`   Bearer ${valid}  `), valid, expectedIds)
})

Deno.test('H16 a value of exactly 8 KiB is verified; one byte more -> 400 before decoding', async () => {
  // Pad the claims to just under the cap, then reach it exactly with spaces (H06 allows them).
  const probe = await sign(key, { ...payload, pad: '' })
  const padLength = Math.floor((8192 - 'Bearer '.length - probe.length) * 3 / 4) - 8
  const padded = await sign(key, { ...payload, pad: 'x'.repeat(padLength) })
  const room = 8192 - 'Bearer'.length - padded.length
  assert(room >= 1 && room < 40, `fixture size off by ${room}`)
  const atCap = `Bearer${' '.repeat(room)}${padded}`
  assertEquals(atCap.length, 8192)
  await assertMe(await h.get(atCap), padded, expectedIds)
  const overCap = `Bearer${' '.repeat(room + 1)}${padded}`
  await assertAuthError(await h.get(overCap), 'BADREQ', 'headerTooLarge', [padded])
})

Deno.test('H16 16 KiB, 64 KiB and 1 MiB values -> 400 without decoding anything', async () => {
  for (const size of [16 * 1024, 64 * 1024, 1024 * 1024]) {
    // The header segment is not even base64 of JSON: only the size is looked at.
    const huge = `Bearer ${'A'.repeat(size - 'Bearer '.length - 4)}.b.c`
    await assertAuthError(await h.get(huge), 'BADREQ', 'headerTooLarge')
  }
})

Deno.test('H17 an API key as Bearer without apikey (legacy anon JWT, sb_ keys) -> 401 invalid_token saying where it goes', async () => {
  const anonKey = await rawJws(
    { alg: 'HS256', typ: 'JWT' },
    {
      iss: 'supabase',
      ref: 'abcdefghijklmnopqrst',
      role: 'anon',
      iat: 1700000000,
      exp: 2000000000,
    },
    key,
  )
  const publishable = 'sb_publishable_' + 'a'.repeat(31)
  const secret = 'sb_secret_' + 'b'.repeat(31)
  await assertAuthError(await h.get(`Bearer ${anonKey}`), 'BADTOKEN', 'apiKeyAsBearer', [anonKey])
  for (const value of [publishable, secret]) {
    await assertAuthError(await h.get(`Bearer ${value}`), 'BADTOKEN', 'apiKeyAsBearer', [value])
  }
})

Deno.test('H17 a key sent in apikey that a gateway passed on as the anon JWT bearer -> 401 unauthorized (no user credential), never a hint to move the key', async () => {
  for (const role of ['anon', 'service_role']) {
    const passedOn = await rawJws(
      { alg: 'HS256', typ: 'JWT' },
      { iss: 'supabase', role, iat: 1700000000, exp: 2000000000 },
      key,
    )
    const response = await h.get(`Bearer ${passedOn}`, { headers: { apikey: 'sb_publishable_x' } })
    await assertAuthError(response, 'NOCRED', 'missingCredentials', [passedOn])
  }
})

Deno.test('H18 token only in apikey, X-Access-Token, X-Forwarded-Authorization, Proxy-Authorization -> 401 no error code', async () => {
  for (
    const name of ['apikey', 'X-Access-Token', 'X-Forwarded-Authorization', 'Proxy-Authorization']
  ) {
    const value = name === 'apikey' || name === 'X-Access-Token' ? valid : `Bearer ${valid}`
    const response = await h.get(undefined, { headers: { [name]: value } })
    await assertAuthError(response, 'NOCRED', 'missingCredentials', secrets)
  }
})

Deno.test('bearer order: a malformed token that is also in the query -> 401 (step 6 before step 7)', async () => {
  const response = await h.get('Bearer not-a-jws', {}, '/me?access_token=x')
  await assertAuthError(response, 'BADTOKEN', 'malformedToken')
})

Deno.test('bearer order: an unknown scheme with a query token -> 401 no error code (step 4 before step 7)', async () => {
  await assertAuthError(
    await h.get('Basic abc', {}, '/me?access_token=x'),
    'NOCRED',
    'missingCredentials',
  )
})
