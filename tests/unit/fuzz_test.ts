// No hostile input may produce a 500 (CONTRACT §4): random mutations of a valid token and random
// header values, with a fixed seed so a failure can be replayed.
import { assert } from '@std/assert'
import { assertNoEcho } from '../_helpers/assert_auth.ts'
import { b64u, claims, generateKeyPair, sign } from '../_helpers/keys.ts'
import { meHarness } from '../_helpers/me_harness.ts'

const ec = await generateKeyPair('ES256')
const rsa = await generateKeyPair('RS256')
const h = meHarness({ keys: [ec, rsa], vars: { SUPABASE_JWT_SECRET: 'f'.repeat(40) } })
const token = await sign(ec, claims({}, h.clock.now()))

/** mulberry32: a small deterministic generator. */
function random(seed: number): () => number {
  return () => {
    seed |= 0
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ,\t"{}[]:'
const FRAGMENTS = [
  '{"alg":"ES256","kid":"' + ec.kid + '"}',
  '{"alg":"RS256","kid":"' + rsa.kid + '"}',
  '{"alg":"HS256"}',
  '{"alg":"none"}',
  '{"alg":"ES256","kid":{"x":1}}',
  '{"alg":"ES256","kid":"' + ec.kid + '","crit":["b64"],"b64":false}',
  '{"alg":"ES256","kid":"' + ec.kid + '","jwk":{"kty":"EC"}}',
  '{"alg":["ES256"]}',
  '{"exp":"x","iat":[],"sub":{},"session_id":null}',
  '{"exp":1e400}',
  '{"__proto__":{"role":"authenticated"}}',
  '[]',
  'null',
  '"',
]

function mutate(next: () => number): string {
  const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!
  const parts = token.split('.')
  switch (Math.floor(next() * 6)) {
    case 0: { // flip one character
      const i = Math.floor(next() * token.length)
      return token.slice(0, i) + pick([...ALPHABET]) + token.slice(i + 1)
    }
    case 1: // truncate
      return token.slice(0, Math.floor(next() * token.length))
    case 2: // replace the header or payload with a hostile fragment
      parts[next() < 0.5 ? 0 : 1] = b64u(pick(FRAGMENTS))
      return parts.join('.')
    case 3: // random base64url segments
      return [0, 1, 2].map(() =>
        Array.from({ length: Math.floor(next() * 60) }, () => pick([...ALPHABET.slice(0, 64)]))
          .join('')
      ).join('.')
    case 4: // shuffle segments
      return [parts[2], parts[0], parts[1]].join('.')
    default: // random bytes as a base64url payload
      parts[1] = b64u(
        Uint8Array.from({ length: Math.floor(next() * 40) }, () => Math.floor(next() * 256)),
      )
      return parts.join('.')
  }
}

Deno.test('fuzz: 3,000 mutated tokens -> never 5xx, never an echo', async () => {
  const next = random(0x5eed)
  for (let i = 0; i < 3000; i++) {
    const candidate = mutate(next)
    const response = await h.get(`Bearer ${candidate}`)
    assert(response.status < 500, `case ${i} answered ${response.status}`)
    if (response.status !== 200) await assertNoEcho(response, [candidate])
    await response.body?.cancel()
  }
})

Deno.test('fuzz: 2,000 random Authorization values -> never 5xx', async () => {
  const next = random(0xbead)
  const latin1 = Array.from({ length: 255 }, (_, i) => String.fromCharCode(i + 1))
    .filter((c) => c !== '\r' && c !== '\n' && c !== '\0')
  for (let i = 0; i < 2000; i++) {
    const length = Math.floor(next() * 120)
    const value = (next() < 0.5 ? 'Bearer ' : '') +
      Array.from({ length }, () => latin1[Math.floor(next() * latin1.length)]).join('')
    const response = await h.get(value)
    assert(response.status < 500, `case ${i} answered ${response.status}`)
    await response.body?.cancel()
  }
})
