/**
 * Headers that describe one hop only (RFC 9110 §7.6.1): a proxy of the local stack (the gateway,
 * the functions host) never forwards them.
 *
 * @module
 */

const hopByHop = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]

/**
 * A copy of `incoming` without the hop-by-hop headers, nor those its `Connection` names.
 *
 * @param incoming a request's or response's headers
 * @returns new headers
 */
export function withoutHopByHop(incoming: Headers): Headers {
  const headers = new Headers(incoming)
  for (const name of (incoming.get('connection') ?? '').split(',')) {
    if (name.trim()) headers.delete(name.trim())
  }
  for (const name of hopByHop) headers.delete(name)
  return headers
}
