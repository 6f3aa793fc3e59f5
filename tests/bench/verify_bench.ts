// Verification throughput in one process: jose's own jwtVerify on unique tokens (the baseline,
// same key set and policy), our verifier on unique tokens (target >= 0.9x jose), and our verifier
// on one repeated token (target >= 50x our unique rate: the verified-token cache).
// Prints a Markdown table; writes JSON to --out (default .local/bench/verify.json). No assertions:
// timings depend on the machine.
//
//   deno run -A tests/bench/verify_bench.ts [--out path] [--tokens 2000] [--rounds 5]
import { createLocalJWKSet, jwtVerify } from 'jose'
import { dirname } from 'node:path'
import { authFromConfig } from '../../functions/_shared/auth/from_env.ts'
import { verifyOptions } from '../../functions/_shared/tokens/verify.ts'
import { testConfig } from '../_helpers/jwks_server.ts'
import { claims, generateKeyPair, jwksOf, sign } from '../_helpers/keys.ts'

function option(name: string, fallback: string): string {
  const index = Deno.args.indexOf(`--${name}`)
  return index >= 0 && Deno.args[index + 1] !== undefined ? Deno.args[index + 1]! : fallback
}

const out = option('out', '.local/bench/verify.json')
const tokenCount = Number(option('tokens', '2000'))
const rounds = Number(option('rounds', '5'))

const key = await generateKeyPair('ES256')
const jwks = jwksOf(key)
const config = testConfig({ SUPABASE_JWKS: JSON.stringify(jwks) })
const keySet = createLocalJWKSet(jwks)
// The same policy our verifier applies, so the comparison is of the wrapper, not the rules.
const joseOptions = verifyOptions(config)

async function uniqueTokens(count: number): Promise<string[]> {
  return await Promise.all(Array.from({ length: count }, () => sign(key, claims())))
}

/** Operations per second of `run` over `tokens`, after a warm-up pass. */
async function measure(tokens: string[], run: (token: string) => Promise<unknown>) {
  const started = performance.now()
  for (const token of tokens) await run(token)
  return tokens.length / ((performance.now() - started) / 1000)
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

// Warm-up: JIT and key import caches on both paths.
const warm = await uniqueTokens(300)
for (const token of warm) await jwtVerify(token, keySet, joseOptions)
const warmAuth = authFromConfig(config, { sessionStore: () => Promise.resolve('live' as const) })
for (const token of warm) await warmAuth.verify(token)

const jose: number[] = []
const ours: number[] = []
const repeated: number[] = []
for (let round = 0; round < rounds; round++) {
  const tokens = await uniqueTokens(tokenCount)
  // Each round uses a fresh instance, so every token is a cache miss, as for unique tokens.
  const auth = authFromConfig(config, { sessionStore: () => Promise.resolve('live' as const) })
  if (round % 2 === 0) {
    jose.push(await measure(tokens, (t) => jwtVerify(t, keySet, joseOptions)))
    ours.push(await measure(tokens, (t) => auth.verify(t)))
  } else {
    ours.push(await measure(tokens, (t) => auth.verify(t)))
    jose.push(await measure(tokens, (t) => jwtVerify(t, keySet, joseOptions)))
  }
  const one = tokens[0]!
  repeated.push(await measure(Array(tokenCount * 20).fill(one), (t) => auth.verify(t)))
}

const result = {
  date: new Date().toISOString(),
  deno: Deno.version.deno,
  tokens_per_round: tokenCount,
  rounds,
  ops_per_second: {
    jose_unique: Math.round(median(jose)),
    ours_unique: Math.round(median(ours)),
    ours_repeated: Math.round(median(repeated)),
  },
  ratios: {
    ours_unique_vs_jose: Number((median(ours) / median(jose)).toFixed(3)),
    ours_repeated_vs_ours_unique: Number((median(repeated) / median(ours)).toFixed(1)),
  },
  targets: { ours_unique_vs_jose: 0.9, ours_repeated_vs_ours_unique: 50 },
}

const fmt = (n: number) => n.toLocaleString('en-US')
console.log(`
| case | ops/s (median of ${rounds}) | ratio | target |
|---|---:|---:|---:|
| jose \`jwtVerify\`, unique tokens | ${fmt(result.ops_per_second.jose_unique)} | 1.00× jose | — |
| ours \`auth.verify\`, unique tokens | ${fmt(result.ops_per_second.ours_unique)} | ${
  result.ratios.ours_unique_vs_jose.toFixed(2)
}× jose | ≥ 0.9× |
| ours \`auth.verify\`, repeated token | ${
  fmt(result.ops_per_second.ours_repeated)
} | ${result.ratios.ours_repeated_vs_ours_unique}× ours unique | ≥ 50× |
`)

await Deno.mkdir(dirname(out), { recursive: true })
await Deno.writeTextFile(out, JSON.stringify(result, null, 2) + '\n')
console.log(`wrote ${out}`)
