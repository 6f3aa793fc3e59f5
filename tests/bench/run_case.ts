/**
 * One row of the HTTP benchmark: a server process, its warm-up and measured wrk run, the counters
 * around it; and the choice among a row's rounds.
 *
 * @module
 */
import { join } from 'node:path'
import { freePort } from '../../supabase/local/ports.ts'
import type { BenchCase, SharedEnv } from './cases.ts'
import type { CountingProxy } from './counting_proxy.ts'
import { type CpuProfile, type Profiler, startProfiler, summarize } from './cpu_profile.ts'
import type { CaseResult } from './report.ts'
import {
  machineBusySeconds,
  type ServerProcess,
  spawnServer,
  waitFor200,
} from './server_process.ts'
import { runWrk, type WrkOptions } from './wrk.ts'

/** What every case run needs. */
export interface RunContext {
  workDir: string
  proxy: CountingProxy
  /** The servers' common environment. */
  common: Record<string, string>
  shared: SharedEnv
  /** The real access token: the repeated token. */
  token: string
  /** Distinct tokens for the measured run and for the warm-up, one per line. */
  runFile: string
  warmFile: string
  settings: LoadSettings
  /** Aborted when the benchmark is interrupted: kills wrk. */
  signal: AbortSignal
  /** Registers what to stop if the benchmark is interrupted; returns its unregistration. */
  onInterrupt(cleanup: () => Promise<unknown>): () => void
  /** Where `.cpuprofile` files go. */
  profileDir: string
}

/** The load settings of every case. */
export interface LoadSettings {
  threads: number
  connections: number
  warmupSeconds: number
  durationSeconds: number
  /** Tokens in the run file. */
  tokens: number
}

/** A measured case, with the summary of its CPU profile when it was profiled. */
export interface CaseRun {
  result: CaseResult
  profile?: string
}

/**
 * Runs one case: its server in a fresh process, a check that it refuses a forged token, a
 * warm-up, then the measured wrk run with the counting proxy's and the CPU counters around it.
 *
 * @param benchCase the case
 * @param context stack, proxy, tokens, settings
 * @param profileRun sample the server's CPU during the measured run
 * @returns the result, and the profile's summary when profiled
 * @throws Error when the server does not start, accepts a forged token, or wrk fails
 */
export async function runCase(
  benchCase: BenchCase,
  context: RunContext,
  profileRun: boolean,
): Promise<CaseRun> {
  const settings = context.settings
  const env = caseEnvironment(benchCase, context)
  context.proxy.reset()
  const inspectorPort = profileRun ? freePort() : 0
  const server = spawnServer(
    'tests/bench/server.ts',
    env,
    context.workDir,
    { denoArgs: profileRun ? [`--inspect=127.0.0.1:${inspectorPort}`] : [] },
  )
  const unregister = context.onInterrupt(() => server.stop())
  try {
    await assertServing(server, benchCase, context.token)
    const load = wrkTarget(server, context, benchCase.load === 'repeated')
    if (settings.warmupSeconds > 0) {
      await runWrk({
        ...load,
        durationSeconds: settings.warmupSeconds,
        tokenFile: benchCase.load === 'distinct' ? context.warmFile : undefined,
      })
    }
    const profiler: Profiler | null = profileRun ? await startProfiler(inspectorPort) : null
    const before = context.proxy.counts()
    const serverCpuBefore = server.cpuSeconds()
    const busyBefore = machineBusySeconds()
    const run = await runWrk({
      ...load,
      durationSeconds: settings.durationSeconds,
      tokenFile: benchCase.load === 'distinct' ? context.runFile : undefined,
    })
    const after = context.proxy.counts()
    const serverCpuAfter = server.cpuSeconds()
    const busyAfter = machineBusySeconds()
    const profile = profiler
      ? await writeProfile(benchCase, await profiler.stop(), context.profileDir)
      : undefined
    const percent = (seconds: number | null) =>
      seconds === null ? null : (seconds / run.durationSeconds) * 100
    const result: CaseResult = {
      id: benchCase.id,
      row: benchCase.row,
      label: benchCase.label,
      load: benchCase.load,
      requestsPerSecond: run.requestsPerSecond,
      ratio: null,
      latencyMs: run.latencyMs,
      requests: run.requests,
      failures: run.failures,
      jwksFetches: { run: after.jwks - before.jwks, total: after.jwks },
      authUserCalls: after.user - before.user,
      rssMiB: server.rssMiB(),
      cpuPercent: {
        server: percent(difference(serverCpuBefore, serverCpuAfter)),
        wrk: percent(run.cpuSeconds),
        machine: percent(difference(busyBefore, busyAfter)),
      },
      ...(benchCase.load === 'distinct' ? { tokenPasses: run.requests / settings.tokens } : {}),
      ...(profileRun ? { profiled: true } : {}),
    }
    return { result, profile }
  } finally {
    await server.stop()
    unregister()
  }
}

function difference(before: number | null, after: number | null): number | null {
  return before === null || after === null ? null : after - before
}

/**
 * The environment of a case's server process: the common variables, the server's name, and what
 * the case adds.
 *
 * @param benchCase the case
 * @param context the run's common environment and shared values
 * @returns the variables
 */
export function caseEnvironment(
  benchCase: BenchCase,
  context: Pick<RunContext, 'common' | 'shared'>,
): Record<string, string> {
  return {
    ...context.common,
    BENCH_SERVER: benchCase.server,
    ...(benchCase.env?.(context.shared) ?? {}),
  }
}

/**
 * What wrk is told in every run against a case's server: its route, the run's load settings, and
 * the run's token on every request unless the case sends distinct tokens (a token file).
 *
 * @param server the process
 * @param context the run's settings, work folder, token and abort signal
 * @param sendToken whether every request carries the run's token
 * @returns the options of `runWrk` but the duration and the token file
 */
export function wrkTarget(
  server: ServerProcess,
  context: RunContext,
  sendToken = true,
): Omit<WrkOptions, 'durationSeconds' | 'tokenFile'> {
  return {
    url: `${server.url}/me`,
    threads: context.settings.threads,
    connections: context.settings.connections,
    scriptDir: context.workDir,
    signal: context.signal,
    headers: sendToken ? { Authorization: `Bearer ${context.token}` } : undefined,
  }
}

/**
 * Waits for a case's server to answer 200 with the real token, then checks that one that
 * authenticates refuses a forged token.
 *
 * @param server the process
 * @param benchCase its case
 * @param token the real access token
 * @throws Error with the server's last lines when it does not start or accepts the forgery
 */
export async function assertServing(
  server: ServerProcess,
  benchCase: BenchCase,
  token: string,
): Promise<void> {
  await waitFor200(`${server.url}/me`, { Authorization: `Bearer ${token}` }, 60_000).catch(
    (error) => {
      throw new Error(`${benchCase.id}: ${error.message}\n${server.logTail()}`)
    },
  )
  if (!benchCase.checksNoToken) await assertRefusesBadToken(server, benchCase.id)
}

/** A server that answers 200 to a forged token is not benchmarking authentication at all. */
async function assertRefusesBadToken(server: ServerProcess, id: string): Promise<void> {
  const forged = 'eyJhbGciOiJFUzI1NiIsImtpZCI6IngifQ.eyJzdWIiOiJ4In0.c2lnbmF0dXJl'
  const response = await fetch(`${server.url}/me`, {
    headers: { Authorization: `Bearer ${forged}` },
  })
  await response.body?.cancel()
  if (response.status === 200) throw new Error(`${id}: a forged token was accepted`)
}

/** Saves a profile and returns the summary of where the time went. */
async function writeProfile(benchCase: BenchCase, cpu: CpuProfile, dir: string): Promise<string> {
  const file = join(dir, `${benchCase.id}.cpuprofile`)
  await Deno.mkdir(dir, { recursive: true })
  await Deno.writeTextFile(file, JSON.stringify(cpu))
  const { groups, functions } = summarize(cpu)
  const lines = [
    `\nCPU profile of ${benchCase.row} ${benchCase.id} (${file}), self time; "(idle)" is time ` +
    'outside JavaScript (Deno\'s HTTP server in Rust, system calls, waiting) and "(native)" ' +
    'native code called from it (e.g. WebCrypto):',
  ]
  for (const g of groups) lines.push(`  ${g.percent.toFixed(1).padStart(5)} %  ${g.name}`)
  lines.push('  top functions:')
  for (const f of functions) lines.push(`  ${f.percent.toFixed(1).padStart(5)} %  ${f.name}`)
  return lines.join('\n')
}

/** Other processes' CPU below this share of a core leave a round "clean". */
const CLEAN_PERCENT = 10

function others(c: CaseResult): number {
  const { server, wrk, machine } = c.cpuPercent
  return server === null || wrk === null || machine === null ? 0 : machine - server - wrk
}

/**
 * Whether a round of a case counts: not profiled, and no neighbour took more than
 * {@linkcode CLEAN_PERCENT} % of a core (a peer that calls the auth server or fetches the JWKS
 * makes other processes work by design: its rounds always count).
 *
 * @param result one round of one case
 * @returns true when it counts
 */
export function isClean(result: CaseResult): boolean {
  if (result.profiled) return false
  const external = result.authUserCalls > 0 || result.jwksFetches.run > 0
  return external || others(result) <= CLEAN_PERCENT
}

/**
 * Of several rounds of one case, the median of the clean ones (other processes used under
 * {@linkcode CLEAN_PERCENT} % of a core), or, when a neighbour disturbed every round, the least
 * disturbed one: a burst elsewhere must not decide a row. Every round is kept in `rounds`.
 * Rows whose peer calls the auth server or the JWKS take the median of all their rounds.
 */
export function pickRound(results: CaseResult[]): CaseResult {
  // A profiled round is slower by the sampling itself: it counts only when it is the only one.
  const unprofiled = results.filter((c) => !c.profiled)
  const candidates = unprofiled.length > 0 ? unprofiled : results
  const clean = candidates.filter(isClean)
  const byRate = [...clean].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)
  const chosen = byRate.length > 0
    ? byRate[Math.floor((byRate.length - 1) / 2)]!
    : [...candidates].sort((a, b) => others(a) - others(b))[0]!
  return {
    ...chosen,
    rounds: results.map((c) => ({
      rps: c.requestsPerSecond,
      // CPU times are counted in 10 ms ticks: a near-zero difference can come out below zero.
      othersPercent: Math.max(0, others(c)),
      ...(c.profiled ? { profiled: true } : {}),
    })),
  }
}
