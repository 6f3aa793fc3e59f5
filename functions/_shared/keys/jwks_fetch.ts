/**
 * The fetch jose uses for the remote JWKS (through its `customFetch` option), with the limits jose
 * leaves to the application: a capped body read while streaming, a JSON content type, no
 * redirects and no key set with private members. jose supplies the timeout signal.
 *
 * @module
 */
import { readCapped } from '../core/capped_read.ts'
import { hasPrivateMembers, type Jwk } from './key_policy.ts'

/** Largest JWKS body accepted; Supabase's sets are about 1 KiB. */
export const MAX_JWKS_BYTES = 64 * 1024

/** A rejected JWKS response: the remote key set treats it like any failed refresh. */
export class JwksResponseError extends Error {
  /**
   * @param reason why the response is refused (no response data in it)
   */
  constructor(reason: string) {
    super(`JWKS response refused: ${reason}`)
    this.name = 'JwksResponseError'
  }
}

/**
 * Wraps a fetch function with the JWKS limits.
 *
 * Responses other than 200 are handed to jose unread, which refuses them; a 200 is read up to
 * {@linkcode MAX_JWKS_BYTES}, checked, and handed on as a fresh JSON response.
 *
 * @param fetchImpl the underlying fetch (default the global one)
 * @returns a fetch for jose's `customFetch` option
 * @throws {JwksResponseError} (from the returned function) for a non-JSON, oversized or private set
 */
export function createCappedFetch(fetchImpl: typeof fetch = fetch): typeof fetch {
  return async function cappedFetch(input, init) {
    // jose already asks for `manual`; forcing it keeps a redirect to an internal address unfollowed.
    const response = await fetchImpl(input, { ...init, redirect: 'manual' })
    if (response.status !== 200) {
      await response.body?.cancel()
      return response
    }
    const type = response.headers.get('content-type')?.split(';', 1)[0]?.trim().toLowerCase()
    if (type !== 'application/json' && !type?.endsWith('+json')) {
      await response.body?.cancel()
      throw new JwksResponseError('content type is not JSON')
    }
    const bytes = await readCapped(response, MAX_JWKS_BYTES)
    if (bytes === undefined) throw new JwksResponseError('body too large')
    const text = new TextDecoder().decode(bytes)
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      throw new JwksResponseError('body is not JSON')
    }
    const keys = (parsed as { keys?: unknown } | null)?.keys
    if (Array.isArray(keys) && keys.some((jwk) => isObject(jwk) && hasPrivateMembers(jwk))) {
      // A published private key is a leak at the issuer: loud, and never loaded.
      console.error('[edge-auth] ALERT: the JWKS contains private key material; refusing it')
      throw new JwksResponseError('key set contains private members')
    }
    return new Response(text, { status: 200, headers: { 'Content-Type': 'application/json' } })
  }
}

function isObject(value: unknown): value is Jwk {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
