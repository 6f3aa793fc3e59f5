/**
 * Telling a project API key from a user's access token in the bearer slot: the commonest mistake
 * in the field, what a signed-out supabase-js sends, and what gateways before Supabase CLI 2.106
 * made of a key sent correctly (`Bearer <anon JWT>` or `Bearer <service_role JWT>`; today's pass
 * `Authorization` on as sent).
 *
 * @module
 */
import { decodeJwt } from 'jose/jwt/decode'

/**
 * Whether a bearer value is a project API key: `sb_…`, or a JWT with role `anon` or
 * `service_role` and neither `sub` nor `session_id` (a legacy key). Read without verification:
 * the answer only ever chooses the words of a refusal or makes a bearer be ignored, which grants
 * nothing.
 *
 * @param token the bearer value
 * @returns true for an API key
 */
export function isApiKeyToken(token: string): boolean {
  if (token.startsWith('sb_')) return true
  try {
    const claims = decodeJwt(token)
    return (claims.role === 'anon' || claims.role === 'service_role') &&
      claims.sub === undefined && claims.session_id === undefined
  } catch {
    return false
  }
}
