/**
 * The recipes of the real-stack fuzz targets (`fuzz_routes.ts`): requests to `login`, `refresh`,
 * `logout` and `notes` as plain data. Where a request needs a live credential (a session's access
 * or refresh token, the test user's password), the recipe names it by kind and the target fills it
 * in at run time, so a failure report replays on a fresh stack.
 *
 * @module
 */
import fc from 'fast-check'
import { anyJson, type GrantRecipe, grantRecipe, latin1, rawBodies } from './fuzz_recipes.ts'

/**
 * Characters that stress storage, comparison and display: NUL, lone surrogates, C0 and C1
 * controls, line and paragraph separators, bidi overrides and isolates, zero-width characters,
 * the BOM, noncharacters, a combining mark, astral characters (an emoji, a tag, U+10FFFF).
 */
export const HOSTILE_CHARS: readonly string[] = [
  '\u0000',
  '\uD800',
  '\uDBFF',
  '\uDC00',
  '\uDFFF',
  '\u0001',
  '\u0008',
  '\u001B',
  '\u001F',
  '\u007F',
  '\u0085',
  '\u009F',
  '\r',
  '\n',
  '\r\n',
  '\t',
  '\u2028',
  '\u2029',
  '\u200B',
  '\u200D',
  '\u200E',
  '\u200F',
  '\u202A',
  '\u202E',
  '\u2066',
  '\u2069',
  '\u061C',
  '\uFEFF',
  '\uFFFE',
  '\uFFFF',
  '\uFFFD',
  '\u0301',
  'e\u0301',
  '\u{1F600}',
  '\u{E0041}',
  '\u{10FFFF}',
  '\\',
  '"',
  "'",
  '%00',
  '\\u0000',
  ' ',
]

/** Text of any kind: graphemes, any code point (lone surrogates included), hostile mixtures. */
export const hostileText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }) },
  {
    weight: 4,
    arbitrary: fc.array(
      fc.oneof(fc.constantFrom(...HOSTILE_CHARS), fc.string({ maxLength: 4 })),
      { minLength: 1, maxLength: 12 },
    ).map((parts) => parts.join('')),
  },
  // Around the 4000-character limit, counted in code points (an emoji is one, as for the
  // column's char_length), in ASCII, a BMP letter and an astral character.
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.integer({ min: 3990, max: 4010 }),
      fc.constantFrom('x', '\u00e9', '\u{1F600}'),
    ).map(([n, c]) => c.repeat(n)),
  },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\t', '\u0000', 'null', '{}', '[]') },
)

/** Numbers JSON can spell but JavaScript and PostgreSQL hold differently or not at all. */
const NUMBER_TEXTS = [
  '0',
  '-0',
  '-1',
  '1e400',
  '-1e400',
  '1e-400',
  '9007199254740993',
  '-9223372036854775809',
  '123456789012345678901234567890',
  '4000',
  '0.1',
  '1E+2',
]

/** A JSON body for a route whose one field is `field`, spelt as text so it reaches the server as sent. */
export type BodyRecipe =
  /** `{field: value}`, `\u`-escaped everywhere when `escaped`. */
  | { kind: 'value'; value: string; escaped: boolean }
  /** Members in order, duplicate names and `__proto__` included. */
  | { kind: 'fields'; fields: [string, unknown][] }
  /** `{field: <number text>}`. */
  | { kind: 'number'; text: string }
  /** `{field: [[[…]]]}` or `{field: {"a": {…}}}`, `depth` levels. */
  | { kind: 'nested'; depth: number; array: boolean }
  | { kind: 'json'; value: unknown }
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array }
  /** A BOM, then `{field: value}`. */
  | { kind: 'bom'; value: string }
  /** `{field: "x…"}` of `size` characters, around and past the body cap. */
  | { kind: 'huge'; size: number }
  | { kind: 'none' }

function bodyRecipe(field: string): fc.Arbitrary<BodyRecipe> {
  const names = fc.oneof(
    { weight: 6, arbitrary: fc.constant(field) },
    { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'id', 'user_id', 'BODY') },
    { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
  )
  return fc.oneof(
    {
      weight: 10,
      arbitrary: fc.record({
        kind: fc.constant('value' as const),
        value: hostileText,
        escaped: fc.boolean(),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('fields' as const),
        fields: fc.array(
          fc.tuple(names, fc.oneof(hostileText, anyJson, fc.jsonValue({ maxDepth: 3 }))),
          { maxLength: 4 },
        ),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('number' as const),
        text: fc.oneof(
          fc.constantFrom(...NUMBER_TEXTS),
          fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String),
          fc.double().filter(Number.isFinite).map(String),
        ),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('nested' as const),
        depth: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1000, max: 8000 })),
        array: fc.boolean(),
      }),
    },
    ...rawBodies(100, [1, 1, 1]),
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('bom' as const), value: hostileText }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('huge' as const),
        size: fc.integer({ min: 40_000, max: 60_000 }),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
  )
}

/** Every non-ASCII character and every control as a `\u` escape: JSON text in plain ASCII. */
export function escapeJson(value: unknown): string {
  return (JSON.stringify(value) ?? 'null').replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}

/**
 * The body a recipe describes, as sent.
 *
 * @returns the body (text or bytes, null for none), and its text when it has one
 */
export function bodyOf(
  recipe: BodyRecipe,
  field: string,
): { body: string | Uint8Array | null; text: string | null } {
  const text = (value: string) => ({ body: value, text: value })
  switch (recipe.kind) {
    case 'value':
      return text(
        recipe.escaped
          ? `{${escapeJson(field)}:${escapeJson(recipe.value)}}`
          : JSON.stringify({ [field]: recipe.value }),
      )
    case 'fields':
      return text(
        `{${
          recipe.fields.map(([name, value]) =>
            `${JSON.stringify(name)}:${JSON.stringify(value) ?? 'null'}`
          ).join(',')
        }}`,
      )
    case 'number':
      return text(`{${JSON.stringify(field)}:${recipe.text}}`)
    case 'nested': {
      const [open, close] = recipe.array ? ['[', ']'] : ['{"a":', '}']
      return text(
        `{${JSON.stringify(field)}:${open.repeat(recipe.depth)}1${close.repeat(recipe.depth)}}`,
      )
    }
    case 'json':
      return text(JSON.stringify(recipe.value) ?? 'null')
    case 'text':
      return text(recipe.text)
    case 'bytes':
      return { body: recipe.bytes, text: null }
    case 'bom':
      return text(`\uFEFF${JSON.stringify({ [field]: recipe.value })}`)
    case 'huge':
      return text(JSON.stringify({ [field]: 'x'.repeat(recipe.size) }))
    case 'none':
      return { body: null, text: null }
  }
}

const CONTENT_TYPES = [
  'application/json',
  'application/json',
  'application/json',
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON;charset=UTF-8',
  'application/json; charset="utf-8"',
  'application/json ;\tCharset="UTF\\-8"',
  'application/json; charset=utf-16',
  'application/json; charset="utf-16"',
  'application/json; charset=utf-8; charset=utf-8',
  'application/json; charset="utf-8',
  'application/json; charset=latin1',
  'application/json, text/plain',
  'application/jsonx',
  'application/merge-patch+json',
  'text/json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  '',
  null,
]

/** Content types accepted as JSON, the rest being refused with 415. */
export const JSON_CONTENT_TYPES: readonly string[] = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON;charset=UTF-8',
  'application/json; charset="utf-8"',
  'application/json ;\tCharset="UTF\\-8"',
]

// Mostly accepted ones, so most cases reach the body's parsing and the database.
const contentType = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...JSON_CONTENT_TYPES) },
  { weight: 1, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
)

/** A bearer credential, by kind: the target turns it into an `Authorization` value. */
export type AuthRecipe =
  /** The access token of a live session of the route's user. */
  | { kind: 'live' }
  /** The same user and session, signed by the stack's key, expired a minute ago. */
  | { kind: 'expired' }
  /** Signed by the stack's key with valid claims, for a user and session that do not exist. */
  | { kind: 'unknown-session' }
  /** The live token with `text` written over it at `at`. */
  | { kind: 'mutated'; at: number; text: string }
  /** The live token with another scheme or separator. */
  | { kind: 'spelt'; prefix: string }
  | { kind: 'raw'; value: string }
  | { kind: 'none' }

const authRecipe: fc.Arbitrary<AuthRecipe> = fc.oneof(
  { weight: 12, arbitrary: fc.constant({ kind: 'live' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'expired' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'unknown-session' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('mutated' as const),
      at: fc.nat(2000),
      text: fc.oneof(
        fc.constantFrom('A', '.', '=', ' ', '%', '\u00e9'),
        fc.string({ maxLength: 4 }),
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('spelt' as const),
      prefix: fc.constantFrom('bearer ', 'BEARER ', 'Bearer  ', 'Bearer\t', 'Basic ', 'Bearer', ''),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('raw' as const), value: latin1 }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
)

/** Query strings: the routes' own parameters with odd values, strangers, repeats, raw text. */
function queryRecipe(parameters: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<string> {
  const names = Object.keys(parameters)
  const pair = fc.oneof(
    ...names.map((name) => parameters[name]!.map((value) => `${name}=${value}`)),
    fc.constantFrom('x=1', 'access_token=abcdefghij', 'apikey=x', '__proto__=1', '=', '&', 'a'),
  )
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant('') },
    { weight: 1, arbitrary: fc.constant('?') },
    {
      weight: 5,
      arbitrary: fc.array(pair, { minLength: 1, maxLength: 3 }).map((p) => `?${p.join('&')}`),
    },
    {
      weight: 1,
      arbitrary: fc.string({ unit: 'binary', maxLength: 30 }).map((text) => `?${text}`),
    },
  )
}

const numberText = fc.oneof(
  fc.constantFrom('0', '1', '20', '100', '101', '-1', '1e3', '007', '1.5', ' 1', '1 ', '+1', ''),
  fc.constantFrom('99999999999999999999', '-99999999999999999999', '0x10', 'NaN', '%00', '\uff11'),
  fc.integer().map(String),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
)

const cursorText = fc.oneof(
  fc.string({
    unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'),
    maxLength: 120,
  }),
  fc.tuple(fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.tuple(numberText, fc.uuid())), fc.boolean())
    .map(
      ([value, padded]) => {
        const bytes = new TextEncoder().encode(JSON.stringify(value) ?? 'null')
        const b64 = btoa(String.fromCharCode(...bytes))
        return padded ? b64 : b64.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
      },
    ),
  fc.constantFrom('', '%00', 'x'.repeat(201), '..', '%2F'),
)

/** A request to `notes`. */
export interface NotesRecipe {
  method: string
  /** `/notes` itself, a note's id (one created earlier in the run, or none), or raw text. */
  path:
    | { kind: 'root' }
    | { kind: 'created' }
    | { kind: 'id'; id: string }
    | { kind: 'raw'; text: string }
  query: string
  contentType: string | null
  auth: AuthRecipe
  body: BodyRecipe
}

/** The arbitrary of a `notes` request. */
export const notesRecipe: fc.Arbitrary<NotesRecipe> = fc.record({
  method: fc.oneof(
    { weight: 10, arbitrary: fc.constant('POST') },
    { weight: 4, arbitrary: fc.constant('GET') },
    { weight: 2, arbitrary: fc.constant('DELETE') },
    { weight: 1, arbitrary: fc.constantFrom('PUT', 'PATCH', 'HEAD', 'OPTIONS', 'PROPFIND') },
  ),
  path: fc.oneof(
    { weight: 24, arbitrary: fc.constant({ kind: 'root' as const }) },
    { weight: 2, arbitrary: fc.constant({ kind: 'created' as const }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('id' as const),
        id: fc.oneof(
          fc.uuid(),
          fc.uuid().map((id) => id.toUpperCase()),
          fc.constantFrom('00000000-0000-0000-0000-000000000000', 'not-a-uuid', '1', '-1', '%00'),
        ),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('raw' as const),
        text: fc.oneof(
          fc.constantFrom('/', '//', '/..', '/%2e%2e', '/a/b', '/%00', '/%ZZ', '/%F0%9F%98%80'),
          fc.string({ maxLength: 20 }).map((text) => `/${encodeURIComponent(text)}`),
        ),
      }),
    },
  ),
  query: queryRecipe({ limit: numberText, cursor: cursorText }),
  contentType,
  auth: authRecipe,
  body: bodyRecipe('body'),
})

/** A request to `logout`. */
export interface LogoutRecipe {
  method: string
  query: string
  contentType: string | null
  auth: AuthRecipe
  body: BodyRecipe
}

/** The arbitrary of a `logout` request. */
export const logoutRecipe: fc.Arbitrary<LogoutRecipe> = fc.record({
  method: fc.oneof(
    { weight: 8, arbitrary: fc.constant('POST') },
    { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS') },
  ),
  query: queryRecipe({
    scope: fc.oneof(
      fc.constantFrom('global', 'local', 'others', 'global', 'local', 'others'),
      fc.constantFrom('', 'GLOBAL', 'Local', ' local', 'local%00', 'l%C3%B6cal', 'all', '*'),
      fc.string({ maxLength: 8 }).map(encodeURIComponent),
    ),
  }),
  contentType,
  auth: authRecipe,
  body: fc.oneof(
    { weight: 4, arbitrary: fc.constant({ kind: 'none' as const }) },
    { weight: 1, arbitrary: bodyRecipe('scope') },
  ),
})

/** How a grant request uses the route's real credentials. */
export type CredentialRecipe =
  /** The real values, as sent by a client. */
  | { kind: 'exact' }
  /** The real values with the first member repeated first with another value (last one wins). */
  | { kind: 'duplicate'; decoy: string }
  /** The real values with one changed: `text` appended to it or written over all of it. */
  | { kind: 'changed'; field: number; text: string; replace: boolean }
  /** A refresh token already rotated out (refresh only). */
  | { kind: 'replay' }
  /** The email in upper case, or with spaces around it (login only). */
  | { kind: 'email'; spelling: 'upper' | 'padded' }

/** A login or refresh request on the real stack. */
export interface StackGrantRecipe {
  /** The request around the body (method, content type, query, `X-Forwarded-For`). */
  request: GrantRecipe
  /** Null: the body of `request`; otherwise the route's real credentials, so. */
  credentials: CredentialRecipe | null
}

function stackGrantRecipe(fields: readonly string[]): fc.Arbitrary<StackGrantRecipe> {
  const credential: fc.Arbitrary<CredentialRecipe> = fc.oneof(
    { weight: 4, arbitrary: fc.constant({ kind: 'exact' as const }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('duplicate' as const), decoy: hostileText }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('changed' as const),
        field: fc.nat(fields.length - 1),
        text: hostileText,
        replace: fc.boolean(),
      }),
    },
    ...(fields.includes('refresh_token')
      ? [{ weight: 1, arbitrary: fc.constant({ kind: 'replay' as const }) }]
      : []),
    ...(fields.includes('email')
      ? [{
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('email' as const),
          spelling: fc.constantFrom<'upper' | 'padded'>('upper', 'padded'),
        }),
      }]
      : []),
  )
  return fc.record({
    request: grantRecipe(fields),
    credentials: fc.oneof(
      { weight: 1, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: credential },
    ),
  })
}

/** The arbitrary of a login request on the real stack. */
export const stackLoginRecipe: fc.Arbitrary<StackGrantRecipe> = stackGrantRecipe([
  'email',
  'password',
])
/** The arbitrary of a refresh request on the real stack. */
export const stackRefreshRecipe: fc.Arbitrary<StackGrantRecipe> = stackGrantRecipe([
  'refresh_token',
])
