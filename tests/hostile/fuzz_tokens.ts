/**
 * Applying the fuzz recipes (`fuzz_recipes.ts`) to real tokens, and the acceptance oracle: which
 * strings a verifier may accept at all.
 *
 * @module
 */
import * as jose from 'jose'
import { b64u, flipS, rawJws, type TestKey, toDer } from '../_helpers/keys.ts'
import {
  type AuthorizationRecipe,
  BASE64URL,
  type Edit,
  type Mutation,
  type Segment,
  type TokenRecipe,
} from './fuzz_recipes.ts'

const te = new TextEncoder()

/** The valid tokens a recipe starts from, and the keys that decide what may be accepted. */
export interface Material {
  real: TestKey[]
  tokens: string[]
  subs: string[]
  foreign: TestKey[]
  stranger: TestKey
}

/** Applies a token recipe to the material's tokens. */
export async function applyRecipe(recipe: TokenRecipe, material: Material): Promise<string> {
  let token = material.tokens[recipe.base]!
  for (const step of recipe.mutations) token = await mutate(token, step, recipe.base, material)
  return token
}

async function mutate(
  token: string,
  step: Mutation,
  base: number,
  material: Material,
): Promise<string> {
  const parts = token.split('.')
  const at = (n: number, length: number) => (length === 0 ? 0 : n % length)
  const withSegment = (index: Segment, change: (text: string) => string) => {
    if (parts.length !== 3) return token
    parts[index] = change(parts[index]!)
    return parts.join('.')
  }
  switch (step.kind) {
    case 'flipBit': {
      const i = at(step.at, token.length)
      const code = token.charCodeAt(i) ^ (1 << step.bit)
      return token.slice(0, i) + String.fromCharCode(code) + token.slice(i + 1)
    }
    case 'replace': {
      const i = at(step.at, token.length)
      return token.slice(0, i) + step.text + token.slice(i + step.text.length)
    }
    case 'truncate':
      return token.slice(0, at(step.at, token.length + 1))
    case 'insert': {
      const i = at(step.at, token.length + 1)
      return token.slice(0, i) + step.text + token.slice(i)
    }
    case 'append':
      return token + step.text
    case 'swapSegments':
      return parts.length === 3 ? step.order.map((i) => parts[i]).join('.') : token
    case 'dropSegment':
      return parts.filter((_, i) => i !== step.segment).join('.')
    case 'duplicateSegment':
      return parts.length === 3
        ? [...parts.slice(0, step.segment + 1), ...parts.slice(step.segment)].join('.')
        : token
    case 'pad':
      return withSegment(step.segment, (text) => text + step.padding)
    case 'standardBase64':
      return withSegment(step.segment, (text) => text.replaceAll('-', '+').replaceAll('_', '/'))
    case 'lowBits':
      return withSegment(step.segment, (text) => changeUnusedBits(text, step.delta))
    case 'flipS':
    case 'der':
      return ecdsaVariant(token, step.kind)
    case 'resign':
      return await resign(token, step, material.real[base]!, material)
  }
}

/** Changes the bits of the last base64url character that encode no byte (T08). */
function changeUnusedBits(text: string, delta: number): string {
  const unused = text.length % 4 === 2 ? 4 : text.length % 4 === 3 ? 2 : 0
  const index = BASE64URL.indexOf(text.at(-1) ?? '')
  if (unused === 0 || index < 0) return text
  const mask = (1 << unused) - 1
  const changed = index ^ ((delta & mask) || 1)
  return text.slice(0, -1) + BASE64URL[changed]
}

/** ECDSA `s → n − s` (still verifies, T07) or the DER encoding (must not, T06). */
function ecdsaVariant(token: string, kind: 'flipS' | 'der'): string {
  const parts = token.split('.')
  if (parts.length !== 3) return token
  let signature: Uint8Array
  try {
    signature = jose.base64url.decode(parts[2]!)
  } catch {
    return token
  }
  if (signature.length !== 64) return token
  return kind === 'flipS' ? flipS(token) : `${parts[0]}.${parts[1]}.${b64u(toDer(signature))}`
}

/** Decodes a segment as a JSON object, or an empty one when it is not. */
function decodeObject(text: string | undefined): Record<string, unknown> {
  try {
    const value = JSON.parse(new TextDecoder().decode(jose.base64url.decode(text ?? '')))
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {}
  } catch {
    return {}
  }
}

function applyEdits(target: Record<string, unknown>, changes: Edit[]): Record<string, unknown> {
  for (const { name, value } of changes) {
    if (value === undefined) delete target[name]
    // defineProperty: `__proto__` becomes an own member, as in hostile JSON.
    else Object.defineProperty(target, name, { value, enumerable: true, configurable: true })
  }
  return target
}

/** Header and claim edits, signed with anything but the real key (T02, T16, T23). */
async function resign(
  token: string,
  step: Extract<Mutation, { kind: 'resign' }>,
  real: TestKey,
  material: Material,
): Promise<string> {
  const [h, p] = token.split('.')
  const header = decodeObject(h)
  const payload = applyEdits(decodeObject(p), step.claims)
  switch (step.signer) {
    case 'foreign-same-kid':
    case 'stranger': {
      const key = step.signer === 'stranger'
        ? material.stranger
        : material.foreign[material.real.indexOf(real)]!
      return await rawJws(applyEdits(header, step.header), payload, key)
    }
    case 'none': {
      const edited = applyEdits({ ...header, alg: 'none' }, step.header)
      return `${b64u(JSON.stringify(edited))}.${b64u(JSON.stringify(payload))}.`
    }
    case 'hmac-public-key':
    case 'hmac-wrong-secret': {
      const secret = step.signer === 'hmac-public-key'
        ? JSON.stringify(real.publicJwk)
        : 'g'.repeat(40)
      const start = step.signer === 'hmac-wrong-secret' ? { alg: 'HS256' } : { ...header }
      const edited = applyEdits({ ...start, alg: 'HS256' }, step.header)
      const input = `${b64u(JSON.stringify(edited))}.${b64u(JSON.stringify(payload))}`
      const key = await crypto.subtle.importKey(
        'raw',
        te.encode(secret),
        { name: 'HMAC', hash: 'SHA-256' },
        false,
        ['sign'],
      )
      const mac = await crypto.subtle.sign('HMAC', key, te.encode(input))
      return `${input}.${b64u(new Uint8Array(mac))}`
    }
  }
}

/**
 * The acceptance oracle: a token may be accepted only when it is one of the valid tokens, or has
 * the same signing input as one and a signature that verifies under that token's real key.
 */
export async function acceptable(candidate: string, material: Material): Promise<number | null> {
  for (const [i, token] of material.tokens.entries()) {
    if (candidate === token) return i
    const input = token.slice(0, token.lastIndexOf('.'))
    if (!candidate.startsWith(`${input}.`) || candidate.split('.').length !== 3) continue
    const key = material.real[i]!
    try {
      await jose.compactVerify(candidate, key.publicKey, { algorithms: [key.alg] })
      return i
    } catch {
      // Not a valid spelling of this token.
    }
  }
  return null
}

/** The `Authorization` value a recipe describes. */
export function authorizationValue(recipe: AuthorizationRecipe, material: Material) {
  if (recipe.kind === 'raw') return Promise.resolve(recipe.value)
  const { credential } = recipe
  const text = credential.kind === 'valid'
    ? Promise.resolve(material.tokens[credential.base]!)
    : credential.kind === 'mutated'
    ? applyRecipe(credential.token, material)
    : Promise.resolve(
      credential.kind === 'text' ? credential.text : 'a'.repeat(credential.length),
    )
  return text.then((t) => `${recipe.scheme}${recipe.separator}${t}${recipe.suffix}`)
}
