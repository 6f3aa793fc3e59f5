/**
 * Cold start: process start to the first 200 on `GET /me`, on each Deno given (the benchmark's own
 * and the functions' Deno 2.1.4, the edge runtime's), for
 *
 * - edge-auth's real `me` function (`functions/me/index.ts`, session check included), with a
 *   direct database connection and, when the stack runs one, through a transaction pooler
 *   (PgBouncer, whose server connections stay open: a cold instance's connection does not start a
 *   PostgreSQL backend),
 * - the same route trusting the token until `exp` (no database, like the peer),
 * - `@supabase/server`'s Hono adapter (the peer),
 * - the smallest Hono function (the floor).
 *
 * Each is its own entry module (`cold/`), so a process loads only its server's code. The servers
 * get the JWKS inline (`SUPABASE_JWKS`), as hosted functions do. A Deno other than the
 * benchmark's gets a lockfile of its own format, written once before the runs, so no run resolves
 * packages (the platform deploys a resolved bundle).
 *
 * @module
 */
import { join } from 'node:path'
import type { ColdStart } from './report.ts'
import { spawnServer, waitFor200 } from './server_process.ts'
import { repoRoot } from '../../supabase/local/paths.ts'
import { foreignRuntimeEnv, type FunctionsRuntime } from '../../supabase/local/functions_runtime.ts'
import { runCommand } from '../../supabase/local/processes.ts'

/** Options of {@linkcode measureColdStarts}. */
export interface ColdStartOptions {
  /** The servers' common environment (`SUPABASE_URL`, keys, `SUPABASE_DB_URL`...). */
  env: Record<string, string>
  /** The project's JWKS, as `SUPABASE_JWKS` carries it. */
  jwks: string
  /** The database through a transaction pooler, when the stack runs one (`me` is measured both ways). */
  pooledDbUrl?: string
  /** A valid access token of a live session. */
  token: string
  /** Measured runs per series (one more is run first and discarded). */
  runs: number
  /** The Denos to start the servers with. */
  runtimes: FunctionsRuntime[]
  /** Where the servers' output and lockfiles go. */
  workDir: string
  log: (message: string) => void
}

/** The servers, by series id: label, entry module, and what their environment changes. */
const SERIES: readonly (readonly [string, string, string, Record<string, string>?])[] = [
  ['me', 'edge-auth `me` function (session check included)', 'functions/me/index.ts'],
  [
    'token',
    "edge-auth `requireUser({ session: 'token' })` (no database)",
    'tests/bench/cold/token.ts',
  ],
  ['peer', '`@supabase/server` Hono adapter (`auth: user`)', 'tests/bench/cold/peer.ts'],
  ['hono', 'minimal Hono function (the floor)', 'tests/bench/cold/hono.ts'],
]

/** `me` again, its database reached through the transaction pooler at `url`. */
function pooledMe(url: string) {
  return [
    'me-pooled',
    'edge-auth `me` function, its database through a transaction pooler (PgBouncer)',
    'functions/me/index.ts',
    { SUPABASE_DB_URL: url },
  ] as const
}

/**
 * Starts each server `runs` times on each runtime and times its first 200.
 *
 * @param options environment, token, runtimes, number of runs
 * @returns one series per server and runtime
 * @throws Error when a server does not answer 200 within 60 s
 */
export async function measureColdStarts(options: ColdStartOptions): Promise<ColdStart[]> {
  const results: ColdStart[] = []
  const env = { ...options.env, SUPABASE_JWKS: options.jwks }
  const bearer = { Authorization: `Bearer ${options.token}` }
  for (const runtime of options.runtimes) {
    const denoArgs = runtime.foreign ? await foreignLockfile(runtime, options) : []
    const servers = options.pooledDbUrl ? [...SERIES, pooledMe(options.pooledDbUrl)] : SERIES
    const series = servers.map(([id, label, entry, change]) => ({
      id,
      label,
      entry,
      env: { ...env, ...change },
      runs: [] as number[],
    }))
    // One discarded round fills Deno's on-disk caches; then the series alternate, sharing noise.
    for (let run = -1; run < options.runs; run++) {
      for (const s of series) {
        options.log(
          `cold start ${run < 0 ? '(discarded)' : run + 1}, Deno ${runtime.version}: ${s.id}`,
        )
        const started = performance.now()
        const server = spawnServer(s.entry, s.env, options.workDir, {
          deno: runtime.path,
          denoArgs,
        })
        try {
          await waitFor200(`${server.url}/me`, bearer, 60_000)
          if (run >= 0) s.runs.push(performance.now() - started)
        } catch (error) {
          throw new Error(
            `cold start of ${s.entry} on Deno ${runtime.version}: ${
              (error as Error).message
            }\n${server.logTail()}`,
          )
        } finally {
          await server.stop()
        }
      }
    }
    const median = (runs: number[]) => [...runs].sort((a, b) => a - b)[Math.floor(runs.length / 2)]!
    const peer = median(series.find((s) => s.id === 'peer')!.runs)
    for (const s of series) {
      results.push({
        series: s.id,
        runtime: `Deno ${runtime.version}`,
        label: s.label,
        runsMs: s.runs,
        medianMs: median(s.runs),
        minMs: Math.min(...s.runs),
        ratioToPeer: s.id === 'peer' ? null : median(s.runs) / peer,
      })
    }
  }
  return results
}

/**
 * Writes a lockfile in the format of `runtime` (Deno 2.1 reads only version 4) for every entry,
 * resolving the packages once, and returns the flag that makes the servers use it.
 */
async function foreignLockfile(runtime: FunctionsRuntime, options: ColdStartOptions) {
  const lockfile = join(options.workDir, `deno-${runtime.version}.lock`)
  options.log(`cold start: resolving the entries' packages for Deno ${runtime.version}`)
  const result = await runCommand(
    runtime.path,
    ['cache', `--lock=${lockfile}`, ...SERIES.map(([, , entry]) => entry)],
    { cwd: repoRoot, env: foreignRuntimeEnv(runtime, Deno.env.toObject()) },
  )
  if (result.code !== 0) {
    throw new Error(
      `Deno ${runtime.version} could not resolve the cold-start entries:\n${
        result.stderr.slice(-2000)
      }`,
    )
  }
  return [`--lock=${lockfile}`]
}
