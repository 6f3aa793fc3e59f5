// Claims rules (C rows) and the session-side rows that need no auth server (S05-S12):
// validly signed tokens whose claims or policy are wrong, through the `me` and policy apps.
import { assertEquals } from '@std/assert'
import * as jose from 'jose'
import { assertAuthError, assertMe } from '../_helpers/assert_auth.ts'
import { claims, generateKeyPair, ISSUER, sign } from '../_helpers/keys.ts'
import { meHarness } from '../_helpers/me_harness.ts'

const ec = await generateKeyPair('ES256')
const h = meHarness({ keys: [ec] })
const now = h.clock.now()
const iat = Math.floor(now / 1000)

/** A token with these claim overrides, signed by the published key. */
function token(overrides: Record<string, unknown>): Promise<string> {
  return sign(ec, claims(overrides, now))
}

async function rejects(
  overrides: Record<string, unknown>,
  description: Parameters<typeof assertAuthError>[2],
  via: 'get' | 'api' = 'get',
) {
  const t = await token(overrides)
  const secrets = [t, ...Object.values(overrides).filter((v) => typeof v === 'string') as string[]]
  await assertAuthError(await h[via](`Bearer ${t}`), 'BADTOKEN', description, secrets)
}

async function accepts(overrides: Record<string, unknown>, path?: string) {
  const c = claims(overrides, now)
  const t = await sign(ec, c)
  return await assertMe(await h.api(`Bearer ${t}`, {}, path), t, c as never)
}

Deno.test('C01 exp absent -> 401', async () => {
  await rejects({ exp: undefined }, 'badClaims')
})

Deno.test('C02 exp as "9999999999", null or true -> 401', async () => {
  for (const exp of ['9999999999', null, true]) await rejects({ exp }, 'badClaims')
})

Deno.test('C03 exp far in the future (1e300, now + 10 years) -> 401 (exp - iat > max age)', async () => {
  for (const exp of [1e300, iat + 10 * 365 * 86400]) await rejects({ exp }, 'badClaims')
  // Exactly the maximum lifetime is fine.
  await accepts({ exp: iat + h.config.maxTokenAgeSeconds })
})

Deno.test('C04 iss "supabase", another project, trailing /, other scheme, other case -> 401', async () => {
  const variants = [
    'supabase',
    'https://otherproject.supabase.co/auth/v1',
    `${ISSUER}/`,
    ISSUER.replace('http:', 'https:'),
    ISSUER.replace('auth', 'AUTH'),
  ]
  for (const iss of variants) await rejects({ iss }, 'badClaims')
  await rejects({ iss: undefined }, 'badClaims')
})

Deno.test('C05 aud "anon", missing, ["x"] -> 401; ["x","authenticated"] -> 200', async () => {
  for (const aud of ['anon', undefined, ['x']]) await rejects({ aud }, 'badClaims')
  await accepts({ aud: ['x', 'authenticated'] })
})

Deno.test('C06 sub missing, "", not a UUID, upper-case UUID -> 401', async () => {
  const upper = crypto.randomUUID().toUpperCase()
  for (const sub of [undefined, '', 'user-1', 42, upper]) await rejects({ sub }, 'badClaims')
})

Deno.test('C07 session_id missing or not a UUID -> 401', async () => {
  for (const session_id of [undefined, '', 'abc', 7]) await rejects({ session_id }, 'badClaims')
})

Deno.test('C08 another kind of JWT from the same issuer (aud = an OAuth client id) -> 401', async () => {
  await rejects({ aud: 'my-oauth-client-id' }, 'badClaims')
})

Deno.test('C09 role missing or not a string -> 401', async () => {
  for (const role of [undefined, 1, ['authenticated']]) await rejects({ role }, 'badClaims')
})

Deno.test('S05 legacy service_role key (HS256, iss supabase, no sub/aud) -> 401 saying an API key is not an access token', async () => {
  const legacy = await new jose.SignJWT({
    iss: 'supabase',
    ref: 'abc',
    role: 'service_role',
    iat,
    exp: iat + 3600,
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode('x'.repeat(40)))
  await assertAuthError(await h.get(`Bearer ${legacy}`), 'BADTOKEN', 'apiKeyAsBearer', [legacy])
})

Deno.test('S05 role service_role with a sub, signed by the project key -> 403 insufficient_scope', async () => {
  const t = await token({ role: 'service_role' })
  await assertAuthError(await h.get(`Bearer ${t}`), 'SCOPE', 'roleNotAllowed', [t])
})

Deno.test('S06 role anon: aud anon -> 401; aud authenticated with role anon -> 403', async () => {
  await rejects({ aud: 'anon', role: 'anon' }, 'badClaims')
  const t = await token({ role: 'anon' })
  await assertAuthError(await h.get(`Bearer ${t}`), 'SCOPE', 'roleNotAllowed', [t])
})

Deno.test('S07 anonymous user: is_anonymous true, "true", missing -> 403; allowed route -> 200', async () => {
  for (const is_anonymous of [true, 'true', undefined]) {
    const t = await token({ is_anonymous })
    await assertAuthError(await h.get(`Bearer ${t}`), 'SCOPE', 'anonymousNotAllowed', [t])
  }
  const body = await accepts({ is_anonymous: true, email: '' }, '/api/anonymous-ok')
  assertEquals(body.user!.is_anonymous, true)
  assertEquals(body.user!.email, null)
})

Deno.test('S08 aal1 (or no aal) on an aal2 route -> 403 mfa required; aal2 -> 200', async () => {
  for (const aal of ['aal1', undefined, 'AAL2']) {
    const t = await token({ aal })
    await assertAuthError(await h.api(`Bearer ${t}`, {}, '/api/aal2'), 'SCOPE', 'mfaRequired', [t])
  }
  await accepts({ aal: 'aal2' }, '/api/aal2')
})

Deno.test('S10 exp = now-2 with tolerance 5 -> 200; now-60 with 30 -> 401 expired; now with 0 -> 401', async () => {
  await accepts({ exp: iat - 2, iat: iat - 3600 })
  const wide = meHarness({ keys: [ec], vars: { EDGE_AUTH_CLOCK_TOLERANCE_SECONDS: '30' } })
  const old = await sign(ec, claims({ exp: iat - 60, iat: iat - 3600 }, now))
  wide.clock.time = now
  await assertAuthError(await wide.get(`Bearer ${old}`), 'BADTOKEN', 'tokenExpired', [old])
  const strict = meHarness({ keys: [ec], vars: { EDGE_AUTH_CLOCK_TOLERANCE_SECONDS: '0' } })
  strict.clock.time = iat * 1000
  const edge = await sign(ec, claims({ exp: iat, iat: iat - 3600 }, now))
  await assertAuthError(await strict.get(`Bearer ${edge}`), 'BADTOKEN', 'tokenExpired', [edge])
})

Deno.test('S11 nbf = now+3600 -> 401 not yet valid; nbf = now+3 with tolerance 5 -> 200', async () => {
  await rejects({ nbf: iat + 3600 }, 'tokenNotYetValid')
  await accepts({ nbf: iat + 3 })
})

Deno.test('S12 iat far in the future or a string -> 401; our clock 3 s behind the issuer -> 200', async () => {
  await rejects({ iat: iat + 86400, exp: iat + 86400 + 3600 }, 'badClaims')
  await rejects({ iat: String(iat) }, 'badClaims')
  await rejects({ iat: undefined }, 'badClaims')
  await accepts({ iat: iat + 3, exp: iat + 3603 })
})

Deno.test('S12 iat older than the maximum token age -> 401 expired', async () => {
  const age = h.config.maxTokenAgeSeconds
  await rejects({ iat: iat - age - 60, exp: iat + 60 }, 'tokenExpired')
})
