/**
 * What the HTTP benchmark runs, in order, and the targets of issue 6 over the results.
 *
 * @module
 */
import type { ServerName } from './server.ts'

/**
 * What wrk sends: one token on every request, or the next distinct token each time. The rows
 * without authentication get the same token too (and ignore it), so every row parses the same
 * request and only what the server does with it differs.
 */
export type Load = 'repeated' | 'distinct'

/** One row of the benchmark. */
export interface BenchCase {
  /** Stable id, used in the JSON and by `--only`. */
  id: string
  /** The numbering (0 to 7), or a letter for reference rows. */
  row: string
  label: string
  server: ServerName
  load: Load
  /** Extra environment of the server process (besides the common Supabase variables). */
  env?: (shared: SharedEnv) => Record<string, string>
  /** A baseline that checks no token, so it is not asked to refuse a forged one. */
  checksNoToken?: true
}

/** What every server process can be given. */
export interface SharedEnv {
  /** The JWKS as JSON, fetched once from the auth server. */
  jwks: string
  /** The counting proxy's JWKS URL. */
  jwksUrl: string
}

/** The rows, run one at a time in this order. */
export const CASES: readonly BenchCase[] = [
  {
    id: 'trivial',
    row: 'L',
    label: 'trivial `Deno.serve` handler, no Hono (load-generator ceiling)',
    server: 'trivial',
    load: 'repeated',
    checksNoToken: true,
  },
  {
    id: 'trivial-lua',
    row: 'L′',
    label: 'same, wrk sending a distinct token per request (Lua ceiling)',
    server: 'trivial',
    load: 'distinct',
    checksNoToken: true,
  },
  {
    id: 'baseline',
    row: '0',
    label: 'Hono route, no auth (baseline)',
    server: 'hono',
    load: 'repeated',
    checksNoToken: true,
  },
  {
    id: 'headers',
    row: '0″',
    label: 'Hono route + the 4 response headers the contract requires, no auth',
    server: 'hono-headers',
    load: 'repeated',
    checksNoToken: true,
  },
  {
    id: 'factory',
    row: '0′',
    label: 'edge-auth `createFunctionApp` (CORS, security headers), no auth',
    server: 'factory',
    load: 'repeated',
    checksNoToken: true,
  },
  {
    id: 'factory-header',
    row: '0‴',
    label:
      '0′ + a middleware reading the `Authorization` header, nothing verified (any bearer auth)',
    server: 'factory-header',
    load: 'repeated',
    checksNoToken: true,
  },
  {
    id: 'factory-lookup',
    row: '0⁗',
    label:
      '0′ + a middleware looking the bearer up in a map of tokens seen, nothing verified (the least a cache does)',
    server: 'factory-lookup',
    load: 'repeated',
    checksNoToken: true,
  },
  {
    id: 'ours-token',
    row: '1',
    label: "edge-auth `requireUser({ session: 'token' })`, repeated token",
    server: 'ours-token',
    load: 'repeated',
  },
  {
    id: 'ours-check',
    row: '2',
    label: "edge-auth `requireUser({ session: 'check' })`, repeated token, PostgreSQL",
    server: 'ours-check',
    load: 'repeated',
  },
  {
    id: 'ours-distinct',
    row: '3',
    label: "edge-auth `requireUser({ session: 'token' })`, distinct token per request",
    server: 'ours-token',
    load: 'distinct',
  },
  {
    id: 'jose-distinct',
    row: 'J',
    label: 'jose `jwtVerify` per request (same policy), distinct token per request',
    server: 'jose',
    load: 'distinct',
  },
  {
    id: 'supabase-server',
    row: '4',
    label: '`@supabase/server` Hono adapter, `auth: user`, JWKS from `SUPABASE_URL`',
    server: 'supabase-server',
    load: 'repeated',
  },
  {
    id: 'supabase-server-inline',
    row: '4′',
    label: '`@supabase/server` Hono adapter, `auth: user`, inline `SUPABASE_JWKS`',
    server: 'supabase-server',
    load: 'repeated',
    env: (shared) => ({ SUPABASE_JWKS: shared.jwks }),
  },
  {
    id: 'hono-jwk-uri',
    row: '5a',
    label: 'Hono `jwk({ jwks_uri })`',
    server: 'hono-jwk-uri',
    load: 'repeated',
    env: (shared) => ({ BENCH_JWKS_URL: shared.jwksUrl }),
  },
  {
    id: 'hono-jwk-keys',
    row: '5b',
    label: 'Hono `jwk({ keys })` (inline keys)',
    server: 'hono-jwk-keys',
    load: 'repeated',
    env: (shared) => ({ BENCH_JWKS: shared.jwks }),
  },
  {
    id: 'get-claims',
    row: '6',
    label: 'supabase-js `auth.getClaims(token)` in the handler',
    server: 'get-claims',
    load: 'repeated',
  },
  {
    id: 'get-user',
    row: '7',
    label: 'supabase-js `auth.getUser(token)` in the handler (auth server call)',
    server: 'get-user',
    load: 'repeated',
  },
]

/**
 * One row's rate ÷ another's, in every measurement that has both.
 *
 * @param measurements rates by case id, one record per round or turn
 * @param a the numerator's case id
 * @param b the denominator's case id
 * @returns the ratios, in the measurements' order
 */
export function pairedRatios(
  measurements: readonly Readonly<Record<string, number>>[],
  a: string,
  b: string,
): number[] {
  return measurements.filter((m) => m[a] && m[b]).map((m) => m[a]! / m[b]!)
}

/**
 * The median of {@linkcode pairedRatios}.
 *
 * @param measurements rates by case id, one record per round or turn
 * @param a the numerator's case id
 * @param b the denominator's case id
 * @returns the median ratio, or null with fewer than two measurements of both
 */
export function medianRatio(
  measurements: readonly Readonly<Record<string, number>>[],
  a: string,
  b: string,
): number | null {
  const ratios = pairedRatios(measurements, a, b)
  return ratios.length < 2 ? null : median(ratios)
}

/**
 * The median of some numbers.
 *
 * @param values at least one
 * @returns the middle value, or the mean of the two middle values
 */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y)
  const middle = sorted.length / 2
  return sorted.length % 2 === 1
    ? sorted[Math.floor(middle)]!
    : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** One step from the baseline to case 1 or 2: what each layer keeps of the rate before it. */
export interface Step {
  description: string
  ratio: number
}

/**
 * Splits T1 and T2 into layers, where their rows ran: the contract's response headers, edge-auth's
 * app factory, the authentication itself, the session check.
 *
 * @param rps requests per second by case id
 * @returns the steps that can be computed
 */
export function decompose(rps: Record<string, number>): Step[] {
  const steps: [string, string, string][] = [
    ['headers', 'baseline', "the contract's 4 response headers (0″ ÷ 0)"],
    ['factory', 'headers', 'edge-auth `createFunctionApp` beyond those headers (0′ ÷ 0″)'],
    ['factory-header', 'factory', 'reading the bearer in a middleware, nothing verified (0‴ ÷ 0′)'],
    ['factory-lookup', 'factory-header', 'looking the token up, nothing verified (0⁗ ÷ 0‴)'],
    [
      'ours-token',
      'factory-header',
      'authentication beyond the header read, repeated token ((1) ÷ 0‴)',
    ],
    ['ours-token', 'factory-lookup', "edge-auth's work beyond that lookup ((1) ÷ 0⁗)"],
    ['ours-token', 'factory', 'authentication as a whole, repeated token ((1) ÷ 0′)'],
    ['ours-check', 'ours-token', 'the session check ((2) ÷ (1))'],
  ]
  return steps.flatMap(([a, b, description]) =>
    rps[a] !== undefined && rps[b] !== undefined ? [{ description, ratio: rps[a]! / rps[b]! }] : []
  )
}

/** A target of the issue, checked on one run. */
export interface Target {
  id: string
  description: string
  /** The measured value, or null when a row it needs did not run. */
  value: number | null
  required: number
  /** Whether the value must reach `required` (a ratio) or stay under it (a load, a cost). */
  bound: 'at least' | 'at most'
  /** The value's unit in the report (`×` for ratios). */
  unit: string
  met: boolean | null
}

/**
 * Evaluates the targets.
 *
 * @param rps requests per second by case id
 * @param inProcess the in-process verification rates (verify_bench.ts), if it ran
 * @param extra the feed's query rate and the cold-start ratios, when measured
 * @param rounds each round's rates by case id (rounds a neighbour disturbed left out): a ratio
 *   of two rows is the median of their ratios round by round
 * @param sideBySide the turns measured side by side (`side_by_side.ts`), each a row's rate and the
 *   baseline's around it: a ratio of two rows measured there is the median of their ratios turn
 *   by turn, which it prefers
 * @returns the targets with their measured ratios
 */
export function evaluateTargets(
  rps: Record<string, number>,
  inProcess: { jose_unique: number; ours_unique: number } | null,
  extra: {
    feedQueriesPerSecond?: number
    /**
     * Cold-start medians ÷ `@supabase/server`'s on the functions' Deno 2.1.4 (the edge
     * runtime's, which the targets are for): `me` (session check included) and the token-only
     * route.
     */
    coldStartRatio?: { functionsDeno?: number; functionsDenoToken?: number }
  } = {},
  rounds: readonly Readonly<Record<string, number>>[] = [],
  sideBySide: readonly Readonly<Record<string, number>>[] = [],
): Target[] {
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? null : a / b
  // Two rows of the same run: the median of their ratios turn by turn where they were measured
  // side by side (a second apart), else round by round (a few seconds apart), so a slow spell of
  // the machine weighs on both sides.
  const paired = (a: string, b: string) =>
    medianRatio(sideBySide, a, b) ?? medianRatio(rounds, a, b) ?? ratio(rps[a], rps[b])
  const fastestJwk = Math.max(rps['hono-jwk-uri'] ?? 0, rps['hono-jwk-keys'] ?? 0) || undefined
  const atLeast: [string, string, number | null, number][] = [
    ['T1', '(1) ours, repeated token ÷ (0) baseline', paired('ours-token', 'baseline'), 0.8],
    ['T2', '(2) ours, session check ÷ (0) baseline', paired('ours-check', 'baseline'), 0.6],
    [
      'T3',
      'in process: ours `verify` ÷ jose `jwtVerify`, distinct tokens (verify_bench)',
      inProcess ? inProcess.ours_unique / inProcess.jose_unique : null,
      0.9,
    ],
    [
      'T3′',
      'over HTTP: (3) ours, distinct tokens ÷ (J) jose `jwtVerify`, distinct tokens',
      paired('ours-distinct', 'jose-distinct'),
      0.9,
    ],
    [
      'T4',
      '(1) ours ÷ (4) `@supabase/server` (faster of 4, 4′)',
      ratio(
        rps['ours-token'],
        Math.max(rps['supabase-server'] ?? 0, rps['supabase-server-inline'] ?? 0) || undefined,
      ),
      10,
    ],
    [
      'T5',
      '(1) ours ÷ (5) Hono `jwk` (faster of 5a, 5b)',
      ratio(rps['ours-token'], fastestJwk),
      10,
    ],
    [
      'T6',
      '(2) ours, session check ÷ (7) `getUser`',
      paired('ours-check', 'get-user'),
      20,
    ], // The cost of authentication alone: against the same app without it, headers and CORS
    // included, so the contract's headers do not count as auth.
    [
      'T9',
      '(1) ours, repeated token ÷ (0′) the same app without auth',
      paired('ours-token', 'factory'),
      0.9,
    ],
    [
      'T10',
      '(2) ours, session check ÷ (0′) the same app without auth',
      paired('ours-check', 'factory'),
      0.85,
    ],
  ]
  const atMost: [string, string, number | undefined, number, string][] = [
    [
      'T7',
      'database queries per second at steady state, 10,000 live sessions on one instance (feed)',
      extra.feedQueriesPerSecond,
      2,
      ' q/s',
    ],
    [
      'T8',
      "cold start of `me` ÷ cold start of `@supabase/server`, on the functions' Deno 2.1.4 (the edge runtime's; medians, same run)",
      extra.coldStartRatio?.functionsDeno,
      1.0,
      '×',
    ],
    [
      'T8t',
      "cold start of the token-only route ÷ cold start of `@supabase/server`, on the functions' Deno 2.1.4 (medians, same run)",
      extra.coldStartRatio?.functionsDenoToken,
      0.9,
      '×',
    ],
  ]
  const target = (
    [id, description, value, required]: [string, string, number | null | undefined, number],
    bound: Target['bound'],
    unit: string,
  ): Target => ({
    id,
    description,
    value: value ?? null,
    required,
    bound,
    unit,
    met: value == null ? null : bound === 'at least' ? value >= required : value <= required,
  })
  return [
    ...atLeast.map((row) => target(row, 'at least', '×')),
    ...atMost.map(([id, description, value, required, unit]) =>
      target([id, description, value, required], 'at most', unit)
    ),
  ]
}
