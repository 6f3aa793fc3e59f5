/**
 * The recipes of the fuzz targets (`fuzz_cases.ts`) and their fast-check arbitraries: token
 * mutations, `Authorization` values, login and refresh requests. A recipe is plain data, so a
 * failure report shows it and it replays on keys generated anew.
 *
 * @module
 */
import fc from 'fast-check'

/** One of the three segments of a compact JWS. */
export type Segment = 0 | 1 | 2
/** A member to set (or, with `undefined`, delete) in a header or payload. */
export type Edit = { name: string; value: unknown }
/** What re-signs an edited token: never the real key. */
export type Signer =
  | 'foreign-same-kid'
  | 'stranger'
  | 'hmac-public-key'
  | 'hmac-wrong-secret'
  | 'none'

/** One change to a token string; a sequence of them turns a valid token into a candidate. */
export type Mutation =
  | { kind: 'flipBit'; at: number; bit: number }
  | { kind: 'replace'; at: number; text: string }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'append'; text: string }
  | { kind: 'swapSegments'; order: Segment[] }
  | { kind: 'dropSegment'; segment: Segment }
  | { kind: 'duplicateSegment'; segment: Segment }
  | { kind: 'pad'; segment: Segment; padding: string }
  | { kind: 'standardBase64'; segment: Segment }
  | { kind: 'lowBits'; segment: Segment; delta: number }
  | { kind: 'flipS' }
  | { kind: 'der' }
  | { kind: 'resign'; header: Edit[]; claims: Edit[]; signer: Signer }

/** A token recipe: which valid token, then which mutations. */
export interface TokenRecipe {
  base: number
  mutations: Mutation[]
}

/** The base64url alphabet, in value order. */
export const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const TOKEN_CHARS = "!#$%&'*+.^_`|~-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Text the fuzzer mixes into tokens and values: separators, padding, JSON and header syntax.
const FRAGMENTS = [
  '.',
  '..',
  '=',
  '==',
  '+',
  '/',
  ' ',
  '\t',
  ',',
  '"',
  '{',
  '}',
  '\\',
  '%00',
  'eyJ',
]

function segmentText(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: fc.constantFrom(...BASE64URL), maxLength: 64 }),
    fc.constantFrom(...FRAGMENTS),
    fc.string({ maxLength: 16 }),
  )
}

/** Any JSON value, biased to the values verifiers and parsers trip on. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    null,
    0,
    -1,
    1e300,
    true,
    false,
    '',
    'none',
    'None',
    'HS256',
    'RS256',
    'ES256',
    'ES384',
    'EdDSA',
    'PS256',
    'authenticated',
    'anon',
    'service_role',
    'aal2',
    '9999999999',
    'https://evil.example/auth/v1',
    'http://127.0.0.1:54321/auth/v1',
    'http://127.0.0.1:9/jwks.json',
    '00000000-0000-0000-0000-000000000000',
    ['exp'],
    ['b64'],
    [],
    {},
    { kty: 'EC' },
  ),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 40 }),
  fc.jsonValue({ maxDepth: 2 }),
)

function edits(names: readonly string[]): fc.Arbitrary<Edit[]> {
  return fc.array(
    fc.record({
      name: fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 8 })),
      // undefined deletes the member.
      value: fc.oneof(fc.constant(undefined), anyJson),
    }),
    { maxLength: 4 },
  )
}

const HEADER_NAMES = ['alg', 'kid', 'typ', 'crit', 'b64', 'jku', 'jwk', 'x5u', 'cty', '__proto__']
const CLAIM_NAMES = [
  'exp',
  'iat',
  'nbf',
  'iss',
  'aud',
  'sub',
  'role',
  'session_id',
  'is_anonymous',
  'aal',
  '__proto__',
]

const segment = fc.constantFrom<Segment>(0, 1, 2)

/** The arbitrary of one mutation. */
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flipBit'), at: fc.nat(2000), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('replace'), at: fc.nat(2000), text: segmentText() }),
  fc.record({ kind: fc.constant('truncate'), at: fc.nat(2000) }),
  fc.record({ kind: fc.constant('insert'), at: fc.nat(2000), text: segmentText() }),
  fc.record({ kind: fc.constant('append'), text: segmentText() }),
  fc.record({
    kind: fc.constant('swapSegments'),
    order: fc.shuffledSubarray([0, 1, 2] as Segment[], { minLength: 3, maxLength: 3 }),
  }),
  fc.record({ kind: fc.constant('dropSegment'), segment }),
  fc.record({ kind: fc.constant('duplicateSegment'), segment }),
  fc.record({ kind: fc.constant('pad'), segment, padding: fc.constantFrom('=', '==', '===') }),
  fc.record({ kind: fc.constant('standardBase64'), segment }),
  fc.record({ kind: fc.constant('lowBits'), segment, delta: fc.integer({ min: 1, max: 15 }) }),
  fc.record({ kind: fc.constant('flipS') }),
  fc.record({ kind: fc.constant('der') }),
  fc.record({
    kind: fc.constant('resign'),
    header: edits(HEADER_NAMES),
    claims: edits(CLAIM_NAMES),
    signer: fc.constantFrom<Signer>(
      'foreign-same-kid',
      'stranger',
      'hmac-public-key',
      'hmac-wrong-secret',
      'none',
    ),
  }),
) as fc.Arbitrary<Mutation>

/** The arbitrary of a token recipe: one of the three valid tokens, then 1 to 3 mutations. */
export const tokenRecipe: fc.Arbitrary<TokenRecipe> = fc.record({
  base: fc.nat(2),
  mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }),
})

/** What an `Authorization` value is made of. */
export type AuthorizationRecipe =
  | { kind: 'raw'; value: string }
  | {
    kind: 'structured'
    scheme: string
    separator: string
    credential:
      | { kind: 'valid'; base: number }
      | { kind: 'mutated'; token: TokenRecipe }
      | { kind: 'text'; text: string }
      | { kind: 'long'; length: number }
    suffix: string
  }

/** Latin-1 without NUL, CR and LF: everything a header value can carry. */
export const latin1: fc.Arbitrary<string> = fc.string({
  unit: fc.integer({ min: 1, max: 255 }).filter((c) => c !== 10 && c !== 13).map((c) =>
    String.fromCharCode(c)
  ),
  maxLength: 200,
})

/** The arbitrary of an `Authorization` value recipe. */
export const authorizationRecipe: fc.Arbitrary<AuthorizationRecipe> = fc.oneof(
  fc.record({ kind: fc.constant('raw' as const), value: latin1 }),
  fc.record({
    kind: fc.constant('structured' as const),
    scheme: fc.oneof(
      fc.constantFrom('Bearer', 'bearer', 'BEARER', 'BeArEr', 'Basic', 'Token', 'DPoP', 'JWT'),
      fc.constantFrom('Bearer:', 'Bearer=', '\uff22earer', 'Bearer\u00a0', ''),
      fc.string({ unit: fc.constantFrom(...TOKEN_CHARS), maxLength: 12 }),
    ),
    separator: fc.constantFrom(
      ' ',
      ' ',
      ' ',
      '  ',
      '    ',
      '\t',
      '\u00a0',
      '\u00c2\u00a0',
      '',
      ',',
    ),
    credential: fc.oneof(
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('valid' as const), base: fc.nat(2) }) },
      {
        weight: 4,
        arbitrary: fc.record({ kind: fc.constant('mutated' as const), token: tokenRecipe }),
      },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('text' as const), text: latin1 }) },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('long' as const),
          length: fc.integer({ min: 8000, max: 9000 }),
        }),
      },
    ),
    suffix: fc.constantFrom('', '', '', ',', ' ', ' x', ', Bearer x', '\t', ',Bearer '),
  }),
)

/** What a login or refresh request is made of. */
export interface GrantRecipe {
  upstream: 'fake' | 'down'
  method: string
  contentType: string | null
  query: string
  forwardedFor: string | null
  body:
    | { kind: 'valid'; values: string[] }
    | { kind: 'fields'; fields: [string, unknown][] }
    | { kind: 'json'; value: unknown }
    | { kind: 'text'; text: string }
    | { kind: 'bytes'; bytes: Uint8Array }
    | { kind: 'huge'; size: number }
}

function fieldValue(): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.string({ maxLength: 80 }) },
    { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '',
        'alice@example.com',
        'correct-horse-battery-staple',
        'x'.repeat(321),
        'x'.repeat(1025),
        '\u0000',
        '\ud800',
      ),
    },
    { weight: 1, arbitrary: anyJson },
  )
}

/**
 * Bodies that are not a JSON object of fields: any JSON value, arbitrary text (binary code units
 * or JSON text) and arbitrary bytes, with the weights given in that order.
 *
 * @param maxLength the longest text or byte body
 * @param weights of the JSON value, the text and the bytes
 * @returns the weighted arbitraries, for `fc.oneof`
 */
export function rawBodies(maxLength: number, [json, text, bytes]: [number, number, number]) {
  return [
    {
      weight: json,
      arbitrary: fc.record({ kind: fc.constant('json' as const), value: fc.jsonValue() }),
    },
    {
      weight: text,
      arbitrary: fc.record({
        kind: fc.constant('text' as const),
        text: fc.oneof(fc.string({ unit: 'binary', maxLength }), fc.json()),
      }),
    },
    {
      weight: bytes,
      arbitrary: fc.record({
        kind: fc.constant('bytes' as const),
        bytes: fc.uint8Array({ maxLength }),
      }),
    },
  ]
}

/** The arbitrary of a request to a grant route whose body has `fields`. */
export function grantRecipe(fields: readonly string[]): fc.Arbitrary<GrantRecipe> {
  const names = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...fields) },
    { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'grant_type', 'phone') },
    { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
  )
  return fc.record({
    upstream: fc.constantFrom<'fake' | 'down'>('fake', 'down'),
    method: fc.oneof(
      { weight: 12, arbitrary: fc.constant('POST') },
      { weight: 3, arbitrary: fc.constantFrom('PUT', 'DELETE', 'GET', 'PATCH') },
    ),
    contentType: fc.constantFrom(
      'application/json',
      'application/json',
      'application/json',
      'application/json',
      'application/json; charset=utf-8',
      'APPLICATION/JSON;charset=UTF-8',
      'application/json; charset=utf-16',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      null,
    ),
    query: fc.constantFrom('', '', '', '', '?', '?x=1', '?email=a@b.c&password=query-secret-1'),
    forwardedFor: fc.option(
      fc.oneof(fc.constantFrom('127.0.0.2', '::1', '127.0.0.2, 127.0.0.3', 'unknown'), latin1),
    ),
    body: fc.oneof(
      {
        // Well-formed: what reaches the upstream.
        weight: 6,
        arbitrary: fc.record({
          kind: fc.constant('valid' as const),
          values: fc.tuple(
            ...fields.map(() =>
              fc.oneof(
                fc.string({ minLength: 1, maxLength: 100 }),
                fc.string({ unit: 'binary', minLength: 1, maxLength: 100 }),
              )
            ),
          ),
        }),
      },
      {
        weight: 6,
        arbitrary: fc.record({
          kind: fc.constant('fields' as const),
          fields: fc.array(fc.tuple(names, fieldValue()), { maxLength: 4 }),
        }),
      },
      ...rawBodies(200, [2, 2, 1]),
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('huge' as const),
          size: fc.integer({ min: 3_000, max: 20_000 }),
        }),
      },
    ),
  })
}

/** The arbitrary of a login request recipe. */
export const loginRecipe: fc.Arbitrary<GrantRecipe> = grantRecipe(['email', 'password'])
/** The arbitrary of a refresh request recipe. */
export const refreshRecipe: fc.Arbitrary<GrantRecipe> = grantRecipe(['refresh_token'])
