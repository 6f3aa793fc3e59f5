/**
 * Which keys of a JWK set this service can use: the readiness rule (a set
 * without a key for an allowed algorithm is as good as no set) and the private-member guard of J05.
 *
 * @module
 */

/** A JWK as found in a key set: only the members this module reads are typed. */
export type Jwk = Readonly<Record<string, unknown>>

// Key type (and curve) each allowed algorithm needs; mirrors jose's own table.
const KEY_TYPES: Readonly<Record<string, { kty: string; crv?: readonly string[] }>> = {
  ES256: { kty: 'EC', crv: ['P-256'] },
  ES384: { kty: 'EC', crv: ['P-384'] },
  ES512: { kty: 'EC', crv: ['P-521'] },
  RS256: { kty: 'RSA' },
  RS384: { kty: 'RSA' },
  RS512: { kty: 'RSA' },
  PS256: { kty: 'RSA' },
  PS384: { kty: 'RSA' },
  PS512: { kty: 'RSA' },
  EdDSA: { kty: 'OKP', crv: ['Ed25519'] },
  Ed25519: { kty: 'OKP', crv: ['Ed25519'] },
}
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']
// jose refuses RSA keys under 2048 bits at verification time with a TypeError (J15).
const MIN_RSA_MODULUS_CHARS = Math.ceil(2048 / 6)

/**
 * Tells whether a JWK carries private or secret material (`d`, RSA primes, an `oct` key's `k`).
 *
 * @param jwk the key
 * @returns true when the key must never appear in a published key set
 */
export function hasPrivateMembers(jwk: Jwk): boolean {
  return PRIVATE_MEMBERS.some((member) => member in jwk)
}

/**
 * Tells whether a public JWK can verify tokens under one of the allowed algorithms: a matching
 * key type and curve, an allowed `alg` if it names one, a signing `use`, `verify` in `key_ops`,
 * and at least 2048 bits for RSA.
 *
 * @param jwk the key
 * @param algorithms the allow-list (`config.algorithms`)
 * @returns true when at least one allowed algorithm can use the key
 */
export function isUsableJwk(jwk: Jwk, algorithms: readonly string[]): boolean {
  if (hasPrivateMembers(jwk)) return false
  if (jwk.use !== undefined && jwk.use !== 'sig') return false
  if (jwk.key_ops !== undefined) {
    if (!Array.isArray(jwk.key_ops) || !jwk.key_ops.includes('verify')) return false
  }
  if (jwk.kty === 'RSA') {
    if (typeof jwk.n !== 'string' || jwk.n.length < MIN_RSA_MODULUS_CHARS) return false
  }
  return algorithms.some((alg) => {
    const type = KEY_TYPES[alg]
    if (!type || type.kty !== jwk.kty) return false
    if (type.crv && !type.crv.includes(jwk.crv as string)) return false
    return jwk.alg === undefined || jwk.alg === alg
  })
}

/**
 * Collects the string `kid`s of a key set.
 *
 * @param keys the set's keys
 * @returns the kids, as a new set
 */
export function kidsOf(keys: readonly Jwk[]): Set<string> {
  const kids = new Set<string>()
  for (const jwk of keys) if (typeof jwk.kid === 'string') kids.add(jwk.kid)
  return kids
}
