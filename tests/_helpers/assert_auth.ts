// Assertions shared by the authentication tests: the RFC 6750 answer of each case
// (the README's error table) and the no-echo rule (no token, segment or secret in any header or body), checked on every response.
import { assert, assertEquals } from '@std/assert'
import type { Credential } from '../../functions/_shared/auth/authenticate.ts'
import { type DescriptionKey, DESCRIPTIONS, REALM } from '../../functions/_shared/core/errors.ts'

/** Options of {@linkcode assertNoEcho}. */
export interface NoEchoOptions {
  /**
   * Text the response may contain whatever the request was (fixed descriptions, header values):
   * a secret found in it is not an echo. Fuzzed input can be such a text by chance.
   */
  vocabulary?: string
}

/**
 * Fails when the status line, any header or the body contains a secret: each given string and
 * each of its dot-separated segments (a token's header, payload, signature), when 8 characters
 * or longer (shorter ones occur in any text by chance).
 */
export async function assertNoEcho(
  response: Response,
  secrets: readonly string[],
  options: NoEchoOptions = {},
): Promise<void> {
  const body = await response.clone().text()
  const haystack = [
    `${response.status} ${response.statusText}`,
    ...[...response.headers].map(([name, value]) => `${name}: ${value}`),
    body,
  ].join('\n')
  const needles = secrets.flatMap((secret) => [
    secret,
    ...secret.split('.').filter((segment) => segment.length >= 8),
  ])
  for (const needle of needles) {
    if (needle.length < 8 || options.vocabulary?.includes(needle)) continue
    assert(!haystack.includes(needle), `response echoes a secret (${needle.slice(0, 12)}…)`)
  }
}

/** The expected answer of an error row. */
export type Expected =
  | 'NOCRED'
  | 'BADREQ'
  | 'BADTOKEN'
  | 'SCOPE'
  | 'KEYS_DOWN'
  | 'SESSION_DOWN'

const SHAPES: Record<Expected, { status: number; error: string; challenge: boolean | null }> = {
  NOCRED: { status: 401, error: 'unauthorized', challenge: false },
  BADREQ: { status: 400, error: 'invalid_request', challenge: true },
  BADTOKEN: { status: 401, error: 'invalid_token', challenge: true },
  SCOPE: { status: 403, error: 'insufficient_scope', challenge: true },
  KEYS_DOWN: { status: 503, error: 'temporarily_unavailable', challenge: null },
  SESSION_DOWN: { status: 503, error: 'temporarily_unavailable', challenge: null },
}

/**
 * Asserts an error answer: status, body, `WWW-Authenticate` (exact), the contract's headers,
 * `Retry-After` on 503, and no echo of the secrets.
 */
export async function assertAuthError(
  response: Response,
  expected: Expected,
  description: DescriptionKey,
  secrets: readonly string[] = [],
): Promise<void> {
  const shape = SHAPES[expected]
  await assertNoEcho(response, secrets)
  const text = await response.text()
  assertEquals(response.status, shape.status, `status for ${expected}: ${text}`)
  assertEquals(JSON.parse(text), {
    error: shape.error,
    error_description: DESCRIPTIONS[description],
  })
  assertEquals(response.headers.get('Content-Type'), 'application/json')
  assertEquals(response.headers.get('Cache-Control'), 'no-store')
  assertEquals(response.headers.get('X-Content-Type-Options'), 'nosniff')
  const challenge = response.headers.get('WWW-Authenticate')
  if (shape.challenge === null) assertEquals(challenge, null)
  else if (!shape.challenge) assertEquals(challenge, `Bearer realm="${REALM}"`)
  else {
    assertEquals(
      challenge,
      `Bearer realm="${REALM}", error="${shape.error}", error_description="${
        DESCRIPTIONS[description]
      }"`,
    )
  }
  if (shape.status === 503) {
    const retryAfter = Number(response.headers.get('Retry-After'))
    assert(Number.isInteger(retryAfter) && retryAfter >= 1, 'Retry-After is a positive integer')
  } else assertEquals(response.headers.get('Retry-After'), null)
}

/** Asserts a 200 from `GET /me` for the given claims, with no echo of the token. */
export async function assertMe(
  response: Response,
  token: string,
  expected: { sub: unknown; session_id: unknown },
): Promise<Record<string, Record<string, unknown>>> {
  await assertNoEcho(response, [token])
  const text = await response.text()
  assertEquals(response.status, 200, text)
  assertEquals(response.headers.get('Cache-Control'), 'no-store')
  assertEquals(response.headers.get('WWW-Authenticate'), null)
  const body = JSON.parse(text)
  assertEquals(body.user.id, expected.sub)
  assertEquals(body.session.id, expected.session_id)
  return body
}

/**
 * What the test apps of `requireCredentials` answer: which credential a request was taken with.
 *
 * @param credential `c.var.credential`
 * @returns `{kind: 'user', user}` with the user's id, or the key's kind and name
 */
export function credentialBody(credential: Credential): Record<string, string> {
  return credential.kind === 'user'
    ? { kind: 'user', user: credential.context.user.id }
    : { kind: credential.kind, name: credential.name }
}
