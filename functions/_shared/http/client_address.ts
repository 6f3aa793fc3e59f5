/**
 * The caller's IP address for the auth server's per-client rate limits, taken only from a header
 * that a proxy the operator trusts writes.
 *
 * Supabase documents no request header that its edge overwrites before a hosted function sees it:
 * the Edge Functions and rate-limit guides name none, and the question put to the maintainers
 * (github.com/orgs/supabase/discussions/52040) has no answer from them. A header the platform does
 * not guarantee is one the caller writes, and a caller who writes it picks their own rate-limit
 * bucket. So by default no address is taken and none is forwarded; `EDGE_AUTH_CLIENT_ADDRESS_HEADER`
 * names a header to trust once a proxy of the operator's own sets it on every request.
 *
 * @module
 */

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
const IPV6_CHARACTERS = /^[0-9a-f:.]{2,45}$/i

/**
 * Returns the address the trusted proxy wrote in `trustedHeader`, or undefined when no header is
 * trusted, or the header is missing or its value is not an IP literal. Of a comma-separated list
 * the last entry is taken: a proxy that appends writes its peer last, and anything before it came
 * from the caller.
 *
 * @param request the incoming request
 * @param trustedHeader the header a trusted proxy overwrites (`Config.clientAddressHeader`)
 * @returns the caller's address, or undefined
 */
export function callerAddress(
  request: Request,
  trustedHeader: string | undefined,
): string | undefined {
  if (trustedHeader === undefined) return undefined
  const last = request.headers.get(trustedHeader)?.split(',').at(-1)?.trim()
  if (!last) return undefined
  if (IPV4.test(last)) return last
  // The URL parser knows every IPv6 spelling, embedded IPv4 included; the character check first
  // keeps anything else (a path, a port) out of the brackets.
  if (last.includes(':') && IPV6_CHARACTERS.test(last) && URL.canParse(`http://[${last}]/`)) {
    return last
  }
  return undefined
}
