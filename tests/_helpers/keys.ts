// Test keys generated at run time (nothing committed), token minting, and the hostile-token
// hostile constructions (rawJws, hsConfusion, toDer, flipS).
import * as jose from 'jose'

/** Algorithms the project's keys use. */
export type TestAlg = 'ES256' | 'RS256' | 'EdDSA'

/** A generated key pair with its published and private JWKs. */
export interface TestKey {
  alg: TestAlg
  kid: string
  privateKey: CryptoKey
  publicKey: CryptoKey
  /** What the JWKS publishes: public members plus kid, alg, use. */
  publicJwk: jose.JWK
  /** The private JWK, for the "private key in the JWKS" case (J05). */
  privateJwk: jose.JWK
}

const te = new TextEncoder()

/** base64url of a string or bytes. */
export function b64u(value: string | Uint8Array): string {
  return jose.base64url.encode(value)
}

/** Generates a key pair; the kid is random unless given. */
export async function generateKeyPair(alg: TestAlg = 'ES256', kid?: string): Promise<TestKey> {
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true })
  const id = kid ?? `${alg.toLowerCase()}-${crypto.randomUUID().slice(0, 8)}`
  const meta = { kid: id, alg, use: 'sig' }
  return {
    alg,
    kid: id,
    privateKey,
    publicKey,
    publicJwk: { ...(await jose.exportJWK(publicKey)), ...meta },
    privateJwk: { ...(await jose.exportJWK(privateKey)), ...meta },
  }
}

/** A JWK set of the keys' public halves. */
export function jwksOf(...keys: TestKey[]): { keys: jose.JWK[] } {
  return { keys: keys.map((key) => key.publicJwk) }
}

/** The `SUPABASE_URL` unit tests use, and the issuer derived from it. */
export const SUPABASE_URL = 'http://127.0.0.1:54321'
export const ISSUER = `${SUPABASE_URL}/auth/v1`

/** Claims of a valid Supabase access token issued at `now` (ms), with overrides (undefined deletes). */
export function claims(
  overrides: Record<string, unknown> = {},
  now = Date.now(),
): Record<string, unknown> {
  const iat = Math.floor(now / 1000)
  const base: Record<string, unknown> = {
    iss: ISSUER,
    aud: 'authenticated',
    sub: crypto.randomUUID(),
    session_id: crypto.randomUUID(),
    role: 'authenticated',
    email: 'alice@example.com',
    phone: '',
    aal: 'aal1',
    amr: [{ method: 'password', timestamp: iat }],
    is_anonymous: false,
    app_metadata: { provider: 'email', providers: ['email'] },
    user_metadata: { name: 'Alice' },
    iat,
    exp: iat + 3600,
  }
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete base[name]
    else base[name] = value
  }
  return base
}

/** Signs claims with a key; header members can be added or overridden (undefined deletes). */
export function sign(
  key: TestKey,
  payload: Record<string, unknown> = claims(),
  header: Record<string, unknown> = {},
): Promise<string> {
  const protectedHeader: Record<string, unknown> = { alg: key.alg, kid: key.kid, typ: 'JWT' }
  for (const [name, value] of Object.entries(header)) {
    if (value === undefined) delete protectedHeader[name]
    else protectedHeader[name] = value
  }
  return rawJws(protectedHeader, payload, key)
}

/**
 * A JWS over arbitrary header and payload *text* (duplicates, `crit`, `b64`, invalid UTF-8 all
 * possible), signed with the key's algorithm.
 */
export async function rawJws(
  header: string | object,
  payload: string | object | Uint8Array,
  key: TestKey,
): Promise<string> {
  const h = b64u(typeof header === 'string' ? header : JSON.stringify(header))
  const p = payload instanceof Uint8Array || typeof payload === 'string'
    ? b64u(payload)
    : b64u(JSON.stringify(payload))
  return `${h}.${p}.${b64u(await signBytes(key, te.encode(`${h}.${p}`)))}`
}

async function signBytes(key: TestKey, data: Uint8Array): Promise<Uint8Array> {
  const algorithm = key.alg === 'ES256'
    ? { name: 'ECDSA', hash: 'SHA-256' }
    : key.alg === 'RS256'
    ? { name: 'RSASSA-PKCS1-v1_5' }
    : { name: 'Ed25519' }
  // WebCrypto's ECDSA output is already raw r||s, as JWS requires.
  return new Uint8Array(await crypto.subtle.sign(algorithm, key.privateKey, data as BufferSource))
}

/** T02: an HS* token keyed with `secretText` (e.g. the public key as PEM or JWK text). */
export async function hsConfusion(
  payloadSegment: string,
  secretText: string,
  kid: string | undefined,
  alg: 'HS256' | 'HS384' | 'HS512' = 'HS256',
): Promise<string> {
  const h = b64u(JSON.stringify(kid === undefined ? { alg, typ: 'JWT' } : { alg, kid, typ: 'JWT' }))
  const hash = `SHA-${alg.slice(2)}`
  const key = await crypto.subtle.importKey(
    'raw',
    te.encode(secretText),
    { name: 'HMAC', hash },
    false,
    ['sign'],
  )
  const mac = await crypto.subtle.sign('HMAC', key, te.encode(`${h}.${payloadSegment}`))
  return `${h}.${payloadSegment}.${b64u(new Uint8Array(mac))}`
}

/** T06: a raw r||s ECDSA signature re-encoded as ASN.1 DER. */
export function toDer(raw: Uint8Array): Uint8Array {
  const int = (bytes: Uint8Array) => {
    let i = 0
    while (i < bytes.length - 1 && bytes[i] === 0) i++
    const b = bytes.slice(i)
    return b[0]! & 0x80 ? [0x02, b.length + 1, 0, ...b] : [0x02, b.length, ...b]
  }
  const body = [...int(raw.slice(0, 32)), ...int(raw.slice(32))]
  return new Uint8Array([0x30, body.length, ...body])
}

/** The order n of P-256. */
export const P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551n

/** T07: ECDSA malleability, s -> n - s: a different string that still verifies. */
export function flipS(token: string): string {
  const [h, p, s] = token.split('.')
  const sig = jose.base64url.decode(s!)
  const hex = [...sig.slice(32)].map((x) => x.toString(16).padStart(2, '0')).join('')
  const flipped = (P256_N - BigInt('0x' + hex)).toString(16).padStart(64, '0')
  const s2 = Uint8Array.from(flipped.match(/../g)!.map((x) => parseInt(x, 16)))
  return `${h}.${p}.${b64u(new Uint8Array([...sig.slice(0, 32), ...s2]))}`
}

/** A 32-byte big-endian integer, for hand-made r||s signatures. */
export function bigIntBytes(value: bigint): Uint8Array {
  const hex = value.toString(16).padStart(64, '0')
  return Uint8Array.from(hex.match(/../g)!.map((x) => parseInt(x, 16)))
}
