// Token structure and cryptography (T rows), through the `me` app.
import { assert, assertEquals } from '@std/assert'
import * as jose from 'jose'
import { assertAuthError, assertMe } from '../_helpers/assert_auth.ts'
import { startJwksServer, testConfig } from '../_helpers/jwks_server.ts'
import {
  b64u,
  bigIntBytes,
  claims,
  flipS,
  generateKeyPair,
  hsConfusion,
  jwksOf,
  P256_N,
  rawJws,
  sign,
  toDer,
} from '../_helpers/keys.ts'
import { startLocalServer } from '../_helpers/local_server.ts'
import { meHarness } from '../_helpers/me_harness.ts'
import { authFromConfig } from '../../functions/_shared/auth/from_env.ts'
import { ApiError } from '../../functions/_shared/core/errors.ts'

const ec = await generateKeyPair('ES256')
const rsa = await generateKeyPair('RS256')
const ed = await generateKeyPair('EdDSA')
const h = meHarness({ keys: [ec, rsa, ed] })
const payload = claims({}, h.clock.now())
const ids = { sub: payload.sub, session_id: payload.session_id }
const valid = await sign(ec, payload)
const [hSeg, pSeg, sSeg] = valid.split('.') as [string, string, string]
const secrets = [valid, String(payload.sub), String(payload.session_id), String(payload.email)]

/** Expects 401 invalid_token with the description, and no echo of the token or claims. */
async function rejects(token: string, description: Parameters<typeof assertAuthError>[2]) {
  await assertAuthError(await h.get(`Bearer ${token}`), 'BADTOKEN', description, [
    token,
    ...secrets,
  ])
}

Deno.test('T00 baseline: genuine ES256, RS256 and EdDSA tokens -> 200', async () => {
  for (const key of [ec, rsa, ed]) {
    const token = await sign(key, payload)
    await assertMe(await h.get(`Bearer ${token}`), token, ids)
  }
})

Deno.test('T01 alg none/None/NONE/nOnE, with an empty or a junk signature -> 401', async () => {
  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    const header = b64u(JSON.stringify({ alg, typ: 'JWT' }))
    await rejects(`${header}.${pSeg}.`, 'malformedToken')
    await rejects(`${header}.${pSeg}.${sSeg}`, 'malformedToken')
  }
})

Deno.test('T02 HS256/384/512 keyed with the public key (PEM, JWK text, x) -> 401, no JWKS fetch', async () => {
  const server = startJwksServer(jwksOf(ec).keys)
  try {
    const remote = meHarness({ vars: { SUPABASE_JWKS_URL: server.url } })
    const pem = await jose.exportSPKI(ec.publicKey)
    const forged: string[] = []
    for (const secret of [pem, JSON.stringify(ec.publicJwk), String(ec.publicJwk.x)]) {
      for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
        forged.push(await hsConfusion(pSeg, secret, ec.kid, alg))
      }
    }
    for (const token of forged) {
      await assertAuthError(await remote.get(`Bearer ${token}`), 'BADTOKEN', 'malformedToken', [
        token,
      ])
    }
    assertEquals(server.count, 0, 'the alg allow-list answers before any key lookup')
  } finally {
    await server.close()
  }
})

Deno.test('T02 with a legacy secret configured, HS256 + kid keyed with the public key -> 401', async () => {
  const legacy = meHarness({ keys: [ec], vars: { SUPABASE_JWT_SECRET: 's'.repeat(40) } })
  const pem = await jose.exportSPKI(ec.publicKey)
  for (const kid of [ec.kid, undefined]) {
    const token = await hsConfusion(pSeg, pem, kid)
    const description = kid === undefined ? 'badSignature' : 'unknownKey'
    await assertAuthError(await legacy.get(`Bearer ${token}`), 'BADTOKEN', description, [token])
  }
})

Deno.test('T03 alg missing, "", 123, null, ["ES256"] -> 401', async () => {
  for (const alg of [undefined, '', 123, null, ['ES256']]) {
    await rejects(await sign(ec, payload, { alg }), 'malformedToken')
  }
})

Deno.test('T04 real but disallowed algs PS256, RS512, ES384, ES256K -> 401', async () => {
  for (const alg of ['PS256', 'RS512', 'ES384', 'ES256K']) {
    await rejects(await sign(ec, payload, { alg }), 'malformedToken')
  }
})

Deno.test('T04 EdDSA genuinely signed by a published key, EdDSA not allowed -> 401', async () => {
  const strict = meHarness({ keys: [ec, ed], vars: { EDGE_AUTH_ALGORITHMS: 'ES256,RS256' } })
  const token = await sign(ed, payload)
  await assertAuthError(await strict.get(`Bearer ${token}`), 'BADTOKEN', 'malformedToken', [token])
})

Deno.test('T05 psychic signatures r = s = 0 and r = s = n -> 401', async () => {
  const zero = b64u(new Uint8Array(64))
  const n = b64u(new Uint8Array([...bigIntBytes(P256_N), ...bigIntBytes(P256_N)]))
  for (const signature of [zero, n]) await rejects(`${hSeg}.${pSeg}.${signature}`, 'badSignature')
})

Deno.test('T06 ES256 signature in DER form instead of raw r||s -> 401', async () => {
  const der = toDer(jose.base64url.decode(sSeg))
  assertEquals(der[0], 0x30)
  await rejects(`${hSeg}.${pSeg}.${b64u(der)}`, 'badSignature')
})

Deno.test('T07 ECDSA s -> n-s variant of a valid token -> 200, cache not keyed for revocation', async () => {
  const own = meHarness({ keys: [ec] })
  const mine = claims({}, own.clock.now())
  const token = await sign(ec, mine)
  const variant = flipS(token)
  assert(variant !== token)
  const expected = { sub: mine.sub, session_id: mine.session_id }
  await assertMe(await own.get(`Bearer ${token}`), token, expected)
  await assertMe(await own.get(`Bearer ${variant}`), variant, expected)
  // Revocation is keyed on session_id: both spellings die together, whatever the cache holds.
  own.auth.forgetSession(String(mine.session_id))
  for (const t of [token, variant]) {
    await assertAuthError(await own.get(`Bearer ${t}`), 'BADTOKEN', 'sessionRevoked', [t])
  }
})

Deno.test('T08 padded signature -> 401; flipped unused low bits -> 200 but revoked with its session', async () => {
  const own = meHarness({ keys: [ec] })
  const mine = claims({}, own.clock.now())
  const token = await sign(ec, mine)
  const [th, tp, ts] = token.split('.') as [string, string, string]
  await assertAuthError(await own.get(`Bearer ${token}==`), 'BADTOKEN', 'malformedToken', [token])
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const lowBits = `${th}.${tp}.${ts.slice(0, -1)}${abc[abc.indexOf(ts.at(-1)!) ^ 1]}`
  const expected = { sub: mine.sub, session_id: mine.session_id }
  await assertMe(await own.get(`Bearer ${lowBits}`), lowBits, expected)
  own.auth.forgetSession(String(mine.session_id))
  await assertAuthError(await own.get(`Bearer ${lowBits}`), 'BADTOKEN', 'sessionRevoked', [token])
})

Deno.test('T09 one, two or four segments -> 401; an sb_ API key -> 401 saying where it goes', async () => {
  for (const token of ['opaque', `${hSeg}.${pSeg}`, `${valid}.x`]) {
    await rejects(token, 'malformedToken')
  }
  await rejects('sb_publishable_abc', 'apiKeyAsBearer')
})

Deno.test('T10 a compact JWE where a JWS is expected -> 401', async () => {
  const jwe = await new jose.EncryptJWT(payload)
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
    .encrypt(new Uint8Array(32))
  assertEquals(jwe.split('.').length, 5)
  await rejects(jwe, 'malformedToken')
})

Deno.test('T11 a nested JWT (cty JWT, payload is another JWT) -> 401', async () => {
  await rejects(
    await rawJws({ alg: 'ES256', kid: ec.kid, cty: 'JWT' }, valid, ec),
    'malformedToken',
  )
})

Deno.test('T12 JSON serialization: 400 over HTTP (a comma: step 5 of the bearer order), 401 from verify()', async () => {
  const flat = await new jose.FlattenedSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'ES256', kid: ec.kid })
    .sign(ec.privateKey)
  const general = { payload: flat.payload, signatures: [flat, flat] }
  for (const value of [JSON.stringify(flat), JSON.stringify(general)]) {
    await assertAuthError(await h.get(`Bearer ${value}`), 'BADREQ', 'malformedHeader', [value])
    const error = await h.auth.verify(value).catch((e) => e)
    assert(error instanceof ApiError && error.status === 401)
    assertEquals(error.descriptionKey, 'malformedToken')
  }
})

Deno.test('T13 garbage header segments (!!!, eyJ, truncated JSON, [], invalid UTF-8) -> 401', async () => {
  const headers = [
    '!!!',
    'eyJ',
    b64u('{"alg":"ES256","kid"'),
    'W10',
    b64u(new Uint8Array([0x7b, 0xc0, 0xaf, 0x7d])),
  ]
  for (const header of headers) await rejects(`${header}.${pSeg}.${sSeg}`, 'malformedToken')
})

Deno.test('T14 crit abuse: unknown member, ["exp"], [], "b64" -> 401', async () => {
  const variants = [
    { crit: ['x-foo'], 'x-foo': 1 },
    { crit: ['exp'] },
    { crit: [] },
    { crit: 'b64' },
  ]
  for (const extra of variants) {
    await rejects(
      await rawJws({ alg: 'ES256', kid: ec.kid, ...extra }, payload, ec),
      'malformedToken',
    )
  }
})

Deno.test('T15 unencoded payload (b64:false, crit b64), validly signed -> 401', async () => {
  await rejects(
    await rawJws({ alg: 'ES256', kid: ec.kid, b64: false, crit: ['b64'] }, payload, ec),
    'malformedToken',
  )
})

Deno.test('T16 attacker key with our kid plus jwk/jku/x5u/x5c headers -> 401, zero attacker requests', async () => {
  const attacker = startLocalServer(() => Response.json({ keys: [] }))
  try {
    const evil = await generateKeyPair('ES256', ec.kid)
    const token = await sign(evil, payload, {
      jwk: evil.publicJwk,
      jku: `${attacker.url}/jwks`,
      x5u: `${attacker.url}/cert`,
      x5c: ['MIIB'],
    })
    await rejects(token, 'badSignature')
    assertEquals(attacker.requests.length, 0)
  } finally {
    await attacker.close()
  }
})

Deno.test('T17 the same extra headers on a genuine token -> 200, zero attacker requests', async () => {
  const attacker = startLocalServer(() => Response.json({ keys: [] }))
  try {
    const token = await sign(ec, payload, {
      jku: `${attacker.url}/jwks`,
      x5u: `${attacker.url}/cert`,
    })
    await assertMe(await h.get(`Bearer ${token}`), token, ids)
    assertEquals(attacker.requests.length, 0)
  } finally {
    await attacker.close()
  }
})

Deno.test('T19 no kid: one usable key, or standby + current -> 401 (a string kid is required)', async () => {
  const standby = await generateKeyPair('ES256')
  for (const keys of [[ec], [ec, standby]]) {
    const own = meHarness({ keys })
    const token = await sign(ec, payload, { kid: undefined })
    await assertAuthError(await own.get(`Bearer ${token}`), 'BADTOKEN', 'unknownKey', [token])
  }
  await rejects(await sign(ec, payload, { kid: 42 }), 'unknownKey')
})

Deno.test('T19 legacy secret configured: kid-less HS256 -> 200, kid-less ES256 -> 401', async () => {
  const secret = 'legacy-secret-'.padEnd(40, 'x')
  const legacy = meHarness({ keys: [ec], vars: { SUPABASE_JWT_SECRET: secret } })
  const mine = claims({}, legacy.clock.now())
  const hs = await new jose.SignJWT(mine).setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(secret))
  await assertMe(await legacy.get(`Bearer ${hs}`), hs, {
    sub: mine.sub,
    session_id: mine.session_id,
  })
  const es = await sign(ec, mine, { kid: undefined })
  await assertAuthError(await legacy.get(`Bearer ${es}`), 'BADTOKEN', 'unknownKey', [es])
})

Deno.test('T21 payload not an object ([], "x", 1, null, "{") or invalid UTF-8 -> 401', async () => {
  const payloads: (string | Uint8Array)[] = ['[]', '"x"', '1', 'null', '{']
  payloads.push(new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0x22, 0x7d]))
  for (const body of payloads) {
    await rejects(await rawJws({ alg: 'ES256', kid: ec.kid }, body, ec), 'malformedToken')
  }
})

Deno.test('T22 header bomb: 100,000 nested [ -> 400 (size cap first); a small bomb -> 401', async () => {
  const bomb = await rawJws('['.repeat(100_000), payload, ec)
  await assertAuthError(await h.get(`Bearer ${bomb}`), 'BADREQ', 'headerTooLarge', [bomb])
  const error = await h.auth.verify(bomb).catch((e) => e)
  assert(error instanceof ApiError && error.status === 401)
  const megabyte = await rawJws(
    { alg: 'ES256', kid: ec.kid, pad: 'x'.repeat(1_000_000) },
    payload,
    ec,
  )
  await assertAuthError(await h.get(`Bearer ${megabyte}`), 'BADREQ', 'headerTooLarge', [megabyte])
  await rejects(await rawJws('['.repeat(4000), payload, ec), 'malformedToken')
})

Deno.test("T23 another project's key and kid -> 401 with at most one refetch per cooldown", async () => {
  const server = startJwksServer(jwksOf(ec).keys)
  try {
    const remote = meHarness({ vars: { SUPABASE_JWKS_URL: server.url } })
    const foreign = await generateKeyPair('ES256')
    const token = await sign(foreign, claims({}, remote.clock.now()))
    for (let i = 0; i < 5; i++) {
      await assertAuthError(await remote.get(`Bearer ${token}`), 'BADTOKEN', 'unknownKey', [token])
    }
    assertEquals(server.count, 1, 'the cold-start fetch only: the cooldown gates the refetch')
    remote.clock.advance(remote.config.jwksCooldownMs)
    for (let i = 0; i < 5; i++) {
      await assertAuthError(await remote.get(`Bearer ${token}`), 'BADTOKEN', 'unknownKey', [token])
    }
    assertEquals(server.count, 2, 'one refetch after the cooldown')
    // A foreign key reusing our kid is a bad signature, not an unknown key.
    const impostor = await generateKeyPair('ES256', ec.kid)
    const forged = await sign(impostor, claims({}, remote.clock.now()))
    await assertAuthError(await remote.get(`Bearer ${forged}`), 'BADTOKEN', 'badSignature', [
      forged,
    ])
  } finally {
    await server.close()
  }
})

Deno.test('T24 HS256 token minted with the legacy secret, no secret configured -> 401', async () => {
  const token = await new jose.SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode('super-secret-jwt-token-with-at-least-32-characters-long'))
  await rejects(token, 'malformedToken')
})

Deno.test('T25 attacker iss -> 401, zero requests to the attacker (keys come from config)', async () => {
  const attacker = startLocalServer(() => Response.json({ keys: [] }))
  const server = startJwksServer(jwksOf(ec).keys)
  try {
    const config = testConfig({ SUPABASE_JWKS_URL: server.url })
    const auth = authFromConfig(config, { sessionStore: () => Promise.resolve('live' as const) })
    const token = await sign(ec, claims({ iss: `${attacker.url}/auth/v1` }))
    const error = await auth.verify(token).catch((e) => e)
    assert(error instanceof ApiError)
    assertEquals([error.status, error.descriptionKey], [401, 'badClaims'])
    assertEquals(attacker.requests.length, 0)
    assertEquals(server.count, 1)
  } finally {
    await attacker.close()
    await server.close()
  }
})
