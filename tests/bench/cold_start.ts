/**
 * Cold start: process start to the first 200 on `me`, for edge-auth's real `me` function, for the
 * same route with `session: 'token'` (no database, like the peer) and for `@supabase/server`.
 *
 * @module
 */
import type { ColdStart } from './report.ts'
import { spawnServer, waitFor200 } from './server_process.ts'

/** Options of {@linkcode measureColdStarts}. */
export interface ColdStartOptions {
  /** The servers' common environment (`SUPABASE_URL`, keys, `SUPABASE_DB_URL`...). */
  env: Record<string, string>
  /** A valid access token of a live session. */
  token: string
  /** Measured runs per series (one more is run first and discarded). */
  runs: number
  /** Where the servers' output goes. */
  workDir: string
  log: (message: string) => void
}

/**
 * Starts each server `runs` times and times its first 200.
 *
 * @param options environment, token, number of runs
 * @returns one series per server
 * @throws Error when a server does not answer 200 within 60 s
 */
export async function measureColdStarts(options: ColdStartOptions): Promise<ColdStart[]> {
  const series = [
    {
      label: 'edge-auth `me` function (`functions/me/index.ts`, session check included)',
      entry: 'functions/me/index.ts',
      env: options.env,
      runs: [] as number[],
    },
    {
      label: "edge-auth `requireUser({ session: 'token' })` (no database, like the peer)",
      entry: 'tests/bench/server.ts',
      env: { ...options.env, BENCH_SERVER: 'ours-token' },
      runs: [] as number[],
    },
    {
      label: '`@supabase/server` Hono adapter (`auth: user`, JWKS from `SUPABASE_URL`)',
      entry: 'tests/bench/server.ts',
      env: { ...options.env, BENCH_SERVER: 'supabase-server' },
      runs: [] as number[],
    },
  ]
  const bearer = { Authorization: `Bearer ${options.token}` }
  // One discarded round fills Deno's on-disk caches; then the series alternate, sharing the noise.
  for (let run = -1; run < options.runs; run++) {
    for (const s of series) {
      options.log(`cold start ${run < 0 ? '(discarded)' : run + 1}: ${s.label}`)
      const started = performance.now()
      const server = spawnServer(s.entry, s.env, options.workDir)
      try {
        await waitFor200(`${server.url}/me`, bearer, 60_000)
        if (run >= 0) s.runs.push(performance.now() - started)
      } catch (error) {
        throw new Error(
          `cold start of ${s.entry}: ${(error as Error).message}\n${server.logTail()}`,
        )
      } finally {
        await server.stop()
      }
    }
  }
  return series.map((s) => {
    const sorted = [...s.runs].sort((a, b) => a - b)
    return {
      label: s.label,
      runsMs: s.runs,
      medianMs: sorted[Math.floor(sorted.length / 2)]!,
      minMs: sorted[0]!,
    }
  })
}
