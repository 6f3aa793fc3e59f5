/**
 * `deno task bench`: edge-auth side by side with its peers, in one run on one machine.
 *
 * 1. In process (`in_process.ts`): `verify_bench.ts` (our verifier vs jose's `jwtVerify`) and the
 *    memory of a full token cache (`cache_memory.ts`), each in its own child process.
 * 2. Over HTTP: an ephemeral local stack (PostgreSQL + the real Supabase Auth server), a counting
 *    proxy in front of the auth server as every server's `SUPABASE_URL`, then each case of
 *    `cases.ts` as its own `deno serve` process on loopback, one at a time, warmed up and then
 *    loaded by wrk with the same settings (`run_case.ts`); distinct-token cases get tokens minted
 *    in advance. Every round runs every case again, interleaved. Then the rows of T9 and T10
 *    once more, their servers running side by side and loaded a second at a time in turn, the
 *    app without auth between every two turns (`side_by_side.ts`): those targets come from there.
 * 3. Cold start (`cold_start.ts`): process start to the first 200 on `me`, for edge-auth's `me`
 *    function, its token-only route, a `@supabase/server` equivalent and a minimal Hono function,
 *    on the functions' Deno 2.1.4 and on this one.
 *
 * Prints a Markdown report on stdout (progress on stderr) and writes the figures as JSON to
 * `--out` (default `.local/bench/bench-<date>.json`).
 *
 *   deno run --allow-all tests/bench/main.ts [--duration 4] [--warmup 1] [--connections 50]
 *     [--threads 2] [--tokens 30000] [--rounds 5] [--cold-runs 21] [--only id,id] [--out file]
 *     [--no-in-process] [--no-cold-start] [--functions-deno path] [--profile]
 *     [--side-by-side-sets 3] [--side-by-side-cycles 12] [--turn-seconds 1]
 *
 * `--side-by-side-sets 0` leaves the measurement side by side out (T9 and T10 then come from the
 * rounds).
 *
 * `--only cold` runs the cold-start part alone (no wrk, no in-process or load rows) and prints
 * its table and targets.
 *
 * `--profile` samples each selected server's CPU during its first round (V8 inspector) and writes
 * `<case>.cpuprofile` beside the JSON, with a summary of where the time went. Sampling slows the
 * fastest rows by up to a quarter, so a profiled round counts only when its case has no other.
 *
 * Needs the Supabase Auth server (`AUTH_SERVER_BIN`, `.local/bin/auth` or `go install`) and wrk
 * (installed with apt-get when missing). Sends load to 127.0.0.1 only.
 *
 * @module
 */
import { decodeJwt } from 'jose'
import { dirname, join } from 'node:path'
import { type BenchStack, mintTokens, startBenchStack } from './bench_stack.ts'
import { CASES, decompose, evaluateTargets, type SharedEnv } from './cases.ts'
import { measureColdStarts } from './cold_start.ts'
import { type CountingProxy, startCountingProxy } from './counting_proxy.ts'
import { machineInfo, runCacheMemory, runVerifyBench } from './in_process.ts'
import { type BenchReport, type CaseResult, coldStartMarkdown, markdown, toJson } from './report.ts'
import { measureSideBySide, SIDE_BY_SIDE_CASES } from './side_by_side.ts'
import { isClean, pickRound, runCase, type RunContext } from './run_case.ts'
import { measureSessionLoad } from './session_load.ts'
import { ensureWrk } from './wrk.ts'
import { existsSync } from 'node:fs'
import { repoRoot } from '../../supabase/local/paths.ts'
import {
  type FunctionsRuntime,
  resolveFunctionsRuntime,
  thisRuntime,
} from '../../supabase/local/functions_runtime.ts'

function option(name: string, fallback: string): string {
  const index = Deno.args.indexOf(`--${name}`)
  return index >= 0 && Deno.args[index + 1] !== undefined ? Deno.args[index + 1]! : fallback
}

function count(name: string, fallback: number, min: number): number {
  const value = Number(option(name, String(fallback)))
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`--${name} must be an integer ≥ ${min}`)
  }
  return value
}

const settings = {
  durationSeconds: count('duration', 4, 1),
  warmupSeconds: count('warmup', 1, 0),
  connections: count('connections', 50, 1),
  threads: count('threads', 2, 1),
  tokens: count('tokens', 30_000, 100),
  rounds: count('rounds', 5, 1),
  coldRuns: count('cold-runs', 21, 1),
}
const sideBySide = {
  sets: count('side-by-side-sets', 3, 0),
  cycles: count('side-by-side-cycles', 12, 1),
  turnSeconds: count('turn-seconds', 1, 1),
}
const only = option('only', '').split(',').filter(Boolean)
// `--only cold`: the cold-start part alone (a minute or two), nothing else.
const coldOnly = only.includes('cold')
if (coldOnly && only.length > 1) throw new Error('--only cold takes no other case')
const unknown = only.filter((id) => id !== 'cold' && !CASES.some((c) => c.id === id))
if (unknown.length > 0) throw new Error(`Unknown case in --only: ${unknown.join(', ')}`)
const selected = coldOnly ? [] : only.length > 0 ? CASES.filter((c) => only.includes(c.id)) : CASES
const out = option('out', join('.local', 'bench', `bench-${stamp()}.json`))
const inProcess = !coldOnly && !Deno.args.includes('--no-in-process')
const coldStart = !Deno.args.includes('--no-cold-start')
const profile = Deno.args.includes('--profile')

const log = (message: string) => console.error(`bench: ${message}`)
// Interrupted: every child (wrk, the server under test, the stack) is stopped before exiting.
const interrupted = new AbortController()
const cleanups: (() => Promise<unknown>)[] = []

/** The edge runtime's Deno, which the hosted functions run on. */
const FUNCTIONS_DENO_VERSION = '2.1.4'

/**
 * This Deno and the functions' Deno 2.1.4 (`--functions-deno`, `EDGE_AUTH_FUNCTIONS_DENO`, or the
 * copy `.ci/run` installs under `.local/deno-2.1.4`; installed there from npm when missing).
 */
async function coldStartRuntimes(): Promise<FunctionsRuntime[]> {
  const installed = join(repoRoot, '.local', 'deno-2.1.4', 'node_modules', 'deno', 'deno')
  const requested = option('functions-deno', Deno.env.get('EDGE_AUTH_FUNCTIONS_DENO') ?? '')
  if (requested === '' && !existsSync(installed)) {
    log(`installing Deno ${FUNCTIONS_DENO_VERSION} (the functions' runtime) under .local/`)
    const npm = await new Deno.Command('npm', {
      args: ['i', '-E', '--prefix', join(repoRoot, '.local', 'deno-2.1.4'), 'deno@2.1.4'],
      stdout: 'null',
      stderr: 'inherit',
    }).output()
    if (!npm.success) throw new Error('npm could not install deno@2.1.4')
  }
  const functions = await resolveFunctionsRuntime(requested || installed)
  if (functions.version !== FUNCTIONS_DENO_VERSION) {
    throw new Error(
      `the functions' Deno must be ${FUNCTIONS_DENO_VERSION}, not ${functions.version}`,
    )
  }
  return functions.foreign ? [functions, thisRuntime()] : [functions]
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)
}

async function main(): Promise<void> {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    Deno.addSignalListener(signal, () => {
      if (interrupted.signal.aborted) return
      log(`${signal}: stopping`)
      interrupted.abort()
      ;(async () => {
        for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
        Deno.exit(130)
      })()
    })
  }
  const wrk = coldOnly ? '' : await ensureWrk(log)
  const workDir = await Deno.makeTempDir({ prefix: 'edge-auth-bench-' })
  cleanups.push(() => Deno.remove(workDir, { recursive: true }))
  let bench: BenchStack | null = null
  let proxy: CountingProxy | null = null
  let stackDir: string | null = null
  try {
    if (inProcess) log('in process: verify_bench.ts (ours vs jose jwtVerify)')
    const verifyJson = inProcess ? await runVerifyBench(workDir, interrupted.signal) : null

    log('starting an ephemeral local stack')
    // Its own temporary directory: PostgreSQL runs as another OS user and must reach it.
    stackDir = await Deno.makeTempDir({ prefix: 'edge-auth-bench-stack-' })
    cleanups.push(() => Deno.remove(stackDir!, { recursive: true }))
    bench = await startBenchStack(stackDir, log)
    const stack = bench.stack
    cleanups.push(() => bench!.stop())
    proxy = startCountingProxy(`http://127.0.0.1:${stack.info.ports.auth}`)
    cleanups.push(() => proxy!.close())
    if (inProcess) log('in process: memory of a full token cache')
    const memory = inProcess
      ? await runCacheMemory(workDir, bench.accessToken, interrupted.signal)
      : null

    const runFile = join(workDir, 'tokens.txt')
    const warmFile = join(workDir, 'warm-tokens.txt')
    if (selected.some((c) => c.load === 'distinct')) {
      log(`minting ${settings.tokens.toLocaleString('en-US')} + 12,000 (warm-up) distinct tokens`)
      await mintTokens(stack, bench.accessToken, settings.tokens, runFile)
      // More than the token cache holds, so the warm-up is cold too.
      await mintTokens(stack, bench.accessToken, 12_000, warmFile)
    }
    const common: Record<string, string> = {
      SUPABASE_URL: proxy.url,
      // The current name: the deprecated SUPABASE_JWT_ISSUER would log a warning at each boot.
      EDGE_AUTH_JWT_ISSUER: stack.info.issuer,
      SUPABASE_ANON_KEY: stack.info.anonKey,
      SUPABASE_PUBLISHABLE_KEY: stack.info.anonKey,
      SUPABASE_SERVICE_ROLE_KEY: stack.info.serviceRoleKey,
      SUPABASE_SECRET_KEY: stack.info.serviceRoleKey,
      SUPABASE_DB_URL: stack.info.dbUrl,
    }
    const shared: SharedEnv = {
      jwks: bench.jwks,
      jwksUrl: `${proxy.url}/auth/v1/.well-known/jwks.json`,
    }
    const context: RunContext = {
      workDir,
      proxy,
      common,
      shared,
      token: bench.accessToken,
      runFile,
      warmFile,
      settings,
      signal: interrupted.signal,
      onInterrupt(cleanup) {
        cleanups.push(cleanup)
        return () => cleanups.splice(cleanups.indexOf(cleanup), 1)
      },
      profileDir: dirname(out),
    }
    const profiles: string[] = []

    const rounds: CaseResult[][] = []
    for (let round = 0; round < settings.rounds; round++) {
      const results: CaseResult[] = []
      for (const benchCase of selected) {
        log(`round ${round + 1}/${settings.rounds}: ${benchCase.row} ${benchCase.id}`)
        // One profile per case is enough; it would only be overwritten by later rounds.
        const run = await runCase(benchCase, context, profile && round === 0)
        results.push(run.result)
        if (run.profile) profiles.push(run.profile)
      }
      rounds.push(results)
    }
    const cases = selected.map((_, index) => pickRound(rounds.map((r) => r[index]!)))
    // The app without auth (first, the baseline) and at least one row to compare with it.
    const sideBySideCases = SIDE_BY_SIDE_CASES.flatMap((id) => selected.filter((c) => c.id === id))
    const sideBySideRates = sideBySide.sets > 0 && sideBySideCases.length >= 2 &&
        sideBySideCases[0]!.id === SIDE_BY_SIDE_CASES[0]
      ? await measureSideBySide(sideBySideCases, context, sideBySide, log)
      : null
    const baseline = cases.find((c) => c.id === 'baseline')?.requestsPerSecond
    for (const c of cases) c.ratio = baseline ? c.requestsPerSecond / baseline : null

    const cold = coldStart
      ? await measureColdStarts({
        env: common,
        jwks: bench.jwks,
        pooledDbUrl: stack.info.database === 'direct' ? undefined : stack.info.functionsDbUrl,
        token: bench.accessToken,
        runs: settings.coldRuns,
        runtimes: await coldStartRuntimes(),
        workDir,
        log,
      })
      : []
    const coldRatio = (series: string, runtime: string) =>
      cold.find((c) => c.series === series && c.runtime === runtime)?.ratioToPeer ?? undefined
    const coldStartRatio = {
      functionsDeno: coldRatio('me', `Deno ${FUNCTIONS_DENO_VERSION}`),
      functionsDenoToken: coldRatio('token', `Deno ${FUNCTIONS_DENO_VERSION}`),
    }
    if (coldOnly) {
      const targets = evaluateTargets({}, null, { coldStartRatio })
        .filter((t) => t.id.startsWith('T8'))
      console.log(coldStartMarkdown(cold, targets))
      return
    }
    const rps = Object.fromEntries(cases.map((c) => [c.id, c.requestsPerSecond]))
    const cleanRounds = rounds.map((round) =>
      Object.fromEntries(round.filter(isClean).map((c) => [c.id, c.requestsPerSecond]))
    )
    log('session check load: 1, 100 and 10,000 live sessions, feed and per-session')
    const sessionLoad = await measureSessionLoad({
      adminDbUrl: stack.info.dbUrl,
      // Direct, like row 2: the pooler the stack may run is for the cold-start series alone.
      functionsDbUrl: stack.info.dbUrl,
      userId: String(decodeJwt(bench.accessToken).sub),
      sizes: [1, 100, 10_000],
      seconds: 3,
    })
    const feedAtScale = sessionLoad.find((l) => l.mode === 'feed' && l.sessions === 10_000)
    const report: BenchReport = {
      date: new Date().toISOString(),
      machine: await machineInfo(wrk),
      settings: { ...settings, tokenCacheSize: 10_000, loadGenerator: 'wrk' },
      cases,
      verifyInProcess: verifyJson,
      coldStart: cold,
      tokenCacheMemory: memory,
      sessionLoad,
      targets: evaluateTargets(
        rps,
        verifyJson?.ops_per_second ?? null,
        {
          feedQueriesPerSecond: feedAtScale?.queriesPerSecond,
          coldStartRatio,
        },
        cleanRounds,
        sideBySideRates?.turns,
      ),
      steps: decompose(rps),
      sideBySide: sideBySideRates,
    }
    await Deno.mkdir(dirname(out), { recursive: true })
    await Deno.writeTextFile(out, JSON.stringify(toJson(report), null, 2) + '\n')
    console.log(markdown(report))
    for (const text of profiles) console.log(text)
    console.log(`\nJSON: ${out}`)
  } finally {
    await proxy?.close().catch(() => {})
    await bench?.stop()
    await Deno.remove(workDir, { recursive: true }).catch(() => {})
    if (stackDir) await Deno.remove(stackDir, { recursive: true }).catch(() => {})
  }
}

if (import.meta.main) {
  try {
    await main()
  } catch (error) {
    // Interrupted: what failed is what the abort stopped; the signal handler exits once clean.
    if (!interrupted.signal.aborted) throw error
  }
}
