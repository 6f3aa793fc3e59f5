/**
 * The caller's IP address, as the platform's gateway reports it, for the auth server's per-client
 * rate limits.
 *
 * @module
 */

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
const IPV6 = /^[0-9a-f:]+(%[0-9a-z]+)?$/i

/**
 * Returns the first address of `X-Forwarded-For`, the one the platform's gateway wrote (Supabase's
 * edge, or the local stack's gateway, which replaces whatever the client sent), or undefined when
 * it is missing or not an IP literal. The function itself never sits at the edge, so it trusts
 * this header only because the gateway in front of it rewrites it.
 *
 * @param request the incoming request
 * @returns the caller's address, or undefined
 */
export function callerAddress(request: Request): string | undefined {
  const first = request.headers.get('X-Forwarded-For')?.split(',', 1)[0]?.trim()
  if (!first) return undefined
  if (IPV4.test(first)) return first
  if (first.includes(':') && first.length <= 45 && IPV6.test(first)) return first
  return undefined
}
