/**
 * Signing keys and secrets of the local stack, kept under `<stateDir>/keys/` (mode 0700, files
 * 0600): the ES256 key set given to the auth server (`GOTRUE_JWT_KEYS`), the JWT secret it still
 * requires, the project's API keys (an opaque `sb_publishable_…` and `sb_secret_…` pair, and the
 * legacy anon and service_role JWTs signed with the stack's key, which the gateway also sends the
 * auth server in place of the opaque ones) and the auth server's database password. Generated on
 * first start, reused afterwards; rotation phases rewrite the key set.
 *
 * @module
 */
import { decodeProtectedHeader, importJWK, SignJWT } from 'jose'
import { join } from 'node:path'

/** A project's API keys, in the shape `stack.json` publishes them. */
export interface ProjectKeys {
  /** `sb_publishable_…`: reaches upstreams as the anon JWT. */
  publishableKey: string
  /** `sb_secret_…`: reaches upstreams as the service_role JWT. */
  secretKey: string
  /** The legacy anon JWT. */
  anonKey: string
  /** The legacy service_role JWT. */
  serviceRoleKey: string
  /** Whether the legacy JWT keys work (as `apikey`, and in the functions' environment). */
  legacyKeys: boolean
}

/** A private ES256 JWK in the shape the auth server accepts. */
export interface PrivateJwk {
  kty: 'EC'
  crv: 'P-256'
  x: string
  y: string
  d: string
  kid: string
  alg: 'ES256'
  use: 'sig'
  key_ops: ('sign' | 'verify')[]
  ext: true
}

/** Everything the stack needs from the keys directory. */
export interface KeyMaterial {
  /** The key set, exactly one of which has `sign` in `key_ops`. */
  jwtKeys: PrivateJwk[]
  jwtSecret: string
  /** `sb_publishable_…`: the public key of a project of today (anon role). */
  publishableKey: string
  /** `sb_secret_…`: the server-side key (service_role). */
  secretKey: string
  /** Legacy anon key: a JWT with `role: anon`. */
  anonKey: string
  /** Legacy service_role key: a JWT with `role: service_role`. */
  serviceRoleKey: string
  authDbPassword: string
  /** Path of the current signing key alone (a private JWK), for tests that mint tokens. */
  signingKeyPath: string
}

/** A step of a key rotation, as driven by the test-control API. */
export type KeyPhase = 'standby' | 'rotate' | 'revoke'

/** The key ids after a rotation phase. */
export interface KeyPhaseResult {
  phase: KeyPhase
  signingKid: string
  /** Every kid the auth server publishes (the signing key included). */
  kids: string[]
  /** A published, verify-only key waiting to become the signer. */
  standbyKid: string | null
  /** Former signing keys still published for verification. */
  retiredKids: string[]
  /** Keys removed by this phase. */
  revokedKids: string[]
  /** True when the anon and service_role keys were signed again (their key was revoked). */
  apiKeysReissued: boolean
}

/** The `iss` of the anon and service_role keys, as in the Supabase CLI's demo keys. */
const apiKeyIssuer = 'supabase-demo'
const tenYearsSeconds = 10 * 365 * 24 * 3600

const files = {
  jwtKeys: 'jwt_keys.json',
  roles: 'key_roles.json',
  signingKey: 'signing_key.json',
  jwtSecret: 'jwt_secret.txt',
  publishable: 'publishable_key.txt',
  secret: 'secret_key.txt',
  anon: 'anon.jwt',
  serviceRole: 'service_role.jwt',
  authDbPassword: 'auth_db_password.txt',
}

interface KeyRoles {
  standby: string | null
}

/**
 * Loads the key material from `dir`, generating whatever is missing. The API keys are signed
 * again when the key that signed them has left the key set.
 *
 * @param dir the keys directory
 * @returns the key material
 */
export async function ensureKeys(dir: string): Promise<KeyMaterial> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 })
  await Deno.chmod(dir, 0o700)
  let jwtKeys = await readJson<PrivateJwk[]>(join(dir, files.jwtKeys))
  if (!jwtKeys) {
    jwtKeys = [await generateEs256Jwk(['sign', 'verify'])]
    await writeSecret(join(dir, files.jwtKeys), JSON.stringify(jwtKeys))
  }
  const signer = signingKeyOf(jwtKeys)
  await writeSecret(join(dir, files.signingKey), JSON.stringify(signer))
  const jwtSecret = await readOrCreate(join(dir, files.jwtSecret), () => randomHex(48))
  const authDbPassword = await readOrCreate(join(dir, files.authDbPassword), () => randomHex(24))
  // Opaque, so a signing-key rotation leaves them alone (as on a hosted project).
  const publishableKey = await readOrCreate(
    join(dir, files.publishable),
    () => opaqueKey('publishable'),
  )
  const secretKey = await readOrCreate(join(dir, files.secret), () => opaqueKey('secret'))

  const kids = new Set(jwtKeys.map((key) => key.kid))
  let anonKey = await readText(join(dir, files.anon))
  let serviceRoleKey = await readText(join(dir, files.serviceRole))
  if (
    !anonKey || !serviceRoleKey || !kids.has(kidOf(anonKey)) || !kids.has(kidOf(serviceRoleKey))
  ) {
    anonKey = await signApiKey(signer, 'anon')
    serviceRoleKey = await signApiKey(signer, 'service_role')
    await writeSecret(join(dir, files.anon), anonKey)
    await writeSecret(join(dir, files.serviceRole), serviceRoleKey)
  }
  return {
    jwtKeys,
    jwtSecret,
    publishableKey,
    secretKey,
    anonKey,
    serviceRoleKey,
    authDbPassword,
    signingKeyPath: join(dir, files.signingKey),
  }
}

/**
 * Applies one rotation phase to the persisted key set. `standby` publishes a new verify-only key
 * while the current one still signs; `rotate` makes the standby key (created if missing) the
 * signer and keeps the old one verify-only; `revoke` removes the former signers. The caller
 * restarts the auth server with the result.
 *
 * @param dir the keys directory
 * @param phase the phase
 * @returns the new key material and the kids
 */
export async function applyKeyPhase(
  dir: string,
  phase: KeyPhase,
): Promise<{ material: KeyMaterial; result: KeyPhaseResult }> {
  const before = await ensureKeys(dir)
  let keys = before.jwtKeys
  const roles = (await readJson<KeyRoles>(join(dir, files.roles))) ?? { standby: null }
  let revokedKids: string[] = []
  const standbyExists = roles.standby !== null && keys.some((key) => key.kid === roles.standby)
  if (phase === 'standby' || phase === 'rotate') {
    if (!standbyExists) {
      const fresh = await generateEs256Jwk(['verify'])
      keys = [...keys, fresh]
      roles.standby = fresh.kid
    }
  }
  if (phase === 'rotate') {
    keys = keys.map((key) => ({
      ...key,
      key_ops: key.kid === roles.standby ? ['sign', 'verify'] : ['verify'],
    }))
    roles.standby = null
  }
  if (phase === 'revoke') {
    const signer = signingKeyOf(keys)
    const removed = keys.filter((key) => key.kid !== signer.kid && key.kid !== roles.standby)
    revokedKids = removed.map((key) => key.kid)
    keys = keys.filter((key) => !revokedKids.includes(key.kid))
  }
  await writeSecret(join(dir, files.jwtKeys), JSON.stringify(keys))
  await writeSecret(join(dir, files.roles), JSON.stringify(roles))
  const material = await ensureKeys(dir)
  const signingKid = signingKeyOf(keys).kid
  return {
    material,
    result: {
      phase,
      signingKid,
      kids: keys.map((key) => key.kid),
      standbyKid: roles.standby,
      retiredKids: keys
        .filter((key) => key.kid !== signingKid && key.kid !== roles.standby)
        .map((key) => key.kid),
      revokedKids,
      apiKeysReissued: material.anonKey !== before.anonKey,
    },
  }
}

/**
 * The public key set the auth server serves at `/.well-known/jwks.json` for `keys`: each key
 * without its private part, verify-only.
 *
 * @param keys the stack's key set
 * @returns the JWK set
 */
export function publicJwks(keys: PrivateJwk[]): { keys: PublicJwk[] } {
  return {
    keys: keys.map(({ kty, crv, x, y, kid, alg, use, ext }) => ({
      kty,
      crv,
      x,
      y,
      kid,
      alg,
      use,
      key_ops: ['verify'],
      ext,
    })),
  }
}

/** A public ES256 JWK as the auth server publishes it. */
export type PublicJwk = Omit<PrivateJwk, 'd' | 'key_ops'> & { key_ops: ['verify'] }

/**
 * The one key with `sign` in `key_ops` (the auth server refuses zero or several).
 *
 * @param keys the key set
 * @returns the signing key
 * @throws Error when there is not exactly one
 */
export function signingKeyOf(keys: PrivateJwk[]): PrivateJwk {
  const signers = keys.filter((key) => key.key_ops.includes('sign'))
  const [signer] = signers
  if (signers.length !== 1 || !signer) {
    throw new Error(`The key set must hold exactly one signing key, found ${signers.length}`)
  }
  return signer
}

/**
 * A fresh ES256 key. WebCrypto exports fixed-length 32-byte coordinates, which the auth server's
 * JWK validation insists on (hand-rolled big-integer encodings can drop a leading zero byte).
 *
 * @param keyOps the key's `key_ops`
 * @returns the private JWK with a random kid
 */
export async function generateEs256Jwk(keyOps: PrivateJwk['key_ops']): Promise<PrivateJwk> {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])
  const jwk = await crypto.subtle.exportKey('jwk', pair.privateKey)
  const { x, y, d } = jwk
  for (const part of [x, y, d]) {
    // 32 bytes in unpadded base64url are 43 characters.
    if (part?.length !== 43) throw new Error('WebCrypto exported an EC coordinate of wrong length')
  }
  return {
    kty: 'EC',
    crv: 'P-256',
    x: x!,
    y: y!,
    d: d!,
    kid: crypto.randomUUID(),
    alg: 'ES256',
    use: 'sig',
    key_ops: keyOps,
    ext: true,
  }
}

async function signApiKey(signer: PrivateJwk, role: 'anon' | 'service_role'): Promise<string> {
  const key = await importJWK(withoutKeyOps(signer), 'ES256')
  const now = Math.floor(Date.now() / 1000)
  return await new SignJWT({ role })
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: signer.kid })
    .setIssuer(apiKeyIssuer)
    .setIssuedAt(now)
    .setExpirationTime(now + tenYearsSeconds)
    .sign(key)
}

function withoutKeyOps(jwk: PrivateJwk): Omit<PrivateJwk, 'key_ops'> {
  const { key_ops: _ignored, ...rest } = jwk
  return rest
}

function kidOf(token: string): string {
  try {
    return decodeProtectedHeader(token).kid ?? ''
  } catch {
    return ''
  }
}

/**
 * A fresh opaque API key in the shape of Supabase's: `sb_<kind>_`, 22 random base64url characters,
 * `_` and 8 more. Random per stack, unlike the Supabase CLI's fixed local keys, so a key copied
 * from one stack opens no other.
 *
 * @param kind `publishable` or `secret`
 * @returns the key
 */
function opaqueKey(kind: 'publishable' | 'secret'): string {
  const part = (bytes: number) =>
    btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(bytes))))
      .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
  return `sb_${kind}_${part(16)}_${part(6)}`
}

/**
 * Random bytes as hex: safe to embed in URLs and SQL literals without escaping.
 *
 * @param bytes how many random bytes
 * @returns twice as many hex digits
 */
export function randomHex(bytes: number): string {
  const raw = crypto.getRandomValues(new Uint8Array(bytes))
  return Array.from(raw, (byte) => byte.toString(16).padStart(2, '0')).join('')
}

async function readOrCreate(path: string, create: () => string): Promise<string> {
  const existing = await readText(path)
  if (existing) return existing
  const value = create()
  await writeSecret(path, value)
  return value
}

async function readText(path: string): Promise<string | null> {
  try {
    return (await Deno.readTextFile(path)).trim() || null
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null
    throw err
  }
}

async function readJson<T>(path: string): Promise<T | null> {
  const text = await readText(path)
  return text ? JSON.parse(text) as T : null
}

/** Writes through a temporary file and a rename, so a crash never leaves a half-written key. */
async function writeSecret(path: string, value: string): Promise<void> {
  const temporary = `${path}.tmp`
  await Deno.writeTextFile(temporary, value, { mode: 0o600 })
  await Deno.chmod(temporary, 0o600)
  await Deno.rename(temporary, path)
}
