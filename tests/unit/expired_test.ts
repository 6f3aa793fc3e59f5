// verifyIgnoringExpiry / requireUser({ allowExpired }): the logout path accepts a token whose only
// fault is a past `exp`; every other rule still applies (an expired token may still log out).
import { assertAuthError, assertMe } from '../_helpers/assert_auth.ts'
import { claims, generateKeyPair, sign } from '../_helpers/keys.ts'
import { meHarness } from '../_helpers/me_harness.ts'

const k1 = await generateKeyPair('ES256')
const stranger = await generateKeyPair('ES256', 'not-published')
const h = meHarness({ keys: [k1] })
const now = Math.floor(h.clock.now() / 1000)
const expired = claims({ iat: now - 7200, exp: now - 3600 }, h.clock.now())

Deno.test('expired but otherwise valid -> 200 on allowExpired routes, 401 token expired elsewhere', async () => {
  const token = await sign(k1, expired)
  await assertMe(await h.api(`Bearer ${token}`, {}, '/api/expired-ok'), token, expired as never)
  await assertAuthError(await h.get(`Bearer ${token}`), 'BADTOKEN', 'tokenExpired', [token])
})

Deno.test('a live token passes allowExpired routes too', async () => {
  const live = claims({}, h.clock.now())
  const token = await sign(k1, live)
  await assertMe(await h.api(`Bearer ${token}`, {}, '/api/expired-ok'), token, live as never)
})

Deno.test('expired and also a bad signature, iss, aud, kid or too old -> 401 on allowExpired routes', async () => {
  const path = '/api/expired-ok'
  const good = await sign(k1, expired)
  const [h0, p0] = good.split('.')
  const other = await sign(k1, claims({ iat: now - 7200, exp: now - 3600 }, h.clock.now()))
  const cases: [string, Parameters<typeof assertAuthError>[2]][] = [
    [`${h0}.${p0}.${other.split('.')[2]}`, 'badSignature'],
    [await sign(k1, { ...expired, iss: 'https://evil.example/auth/v1' }), 'badClaims'],
    [await sign(k1, { ...expired, aud: 'anon' }), 'badClaims'],
    [await sign(stranger, expired), 'unknownKey'],
    [await sign(k1, { ...expired, sub: 'nope' }), 'badClaims'],
    // Issued more than the maximum token age before it expired.
    [await sign(k1, { ...expired, iat: now - 8 * 86400, exp: now - 3600 }), 'tokenExpired'],
    // Issued after it expired.
    [await sign(k1, { ...expired, iat: now - 1800, exp: now - 3600 }), 'badClaims'],
  ]
  for (const [token, description] of cases) {
    await assertAuthError(await h.api(`Bearer ${token}`, {}, path), 'BADTOKEN', description, [
      token,
    ])
  }
})

Deno.test('expired longer ago than the maximum token age -> 401 token expired even with allowExpired', async () => {
  const max = h.config.maxTokenAgeSeconds
  const ancient = await sign(
    k1,
    claims({ iat: now - max - 7200, exp: now - max - 3600 }, h.clock.now()),
  )
  await assertAuthError(
    await h.api(`Bearer ${ancient}`, {}, '/api/expired-ok'),
    'BADTOKEN',
    'tokenExpired',
    [ancient],
  )
})
