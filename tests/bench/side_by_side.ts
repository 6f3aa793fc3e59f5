/**
 * The rows whose targets sit a few percent apart (T9, T10: authentication against the same app
 * without it), measured side by side. This VM's speed swings by up to a factor of two within
 * seconds, more than those targets' margins, so two rows measured several seconds apart compare
 * poorly. Here every server of a set runs at once, idle but for its turn, and wrk loads them one
 * turn (a second) at a time, the app without auth before and after every other row's turn:
 * `0′ 0‴ 0′ 0⁗ 0′ 1 0′ 2 0′ 0‴ 0′ …`. A row's turn is compared with the mean of the two baseline
 * turns around it, so a slow spell, or a machine speeding up or slowing down steadily, weighs on both
 * sides alike. Several sets of fresh processes, because one process of a server can run several
 * percent faster than the next.
 *
 * @module
 */
import type { BenchCase } from './cases.ts'
import { assertServing, caseEnvironment, type RunContext, wrkTarget } from './run_case.ts'
import { type ServerProcess, spawnServer } from './server_process.ts'
import { runWrk } from './wrk.ts'

/** The rows measured side by side, when selected: the app without auth first, the baseline. */
export const SIDE_BY_SIDE_CASES = [
  'factory',
  'factory-header',
  'factory-lookup',
  'ours-token',
  'ours-check',
]

/** How much measuring side by side to do. */
export interface SideBySideSettings {
  /** Sets of fresh server processes. */
  sets: number
  /** Cycles per set; in each, every row but the baseline gets one turn, between two of its. */
  cycles: number
  /** Length of a turn, in seconds. */
  turnSeconds: number
}

/**
 * What a measurement side by side found: one record per turn of a row other than the baseline,
 * in order, with that row's rate and the baseline's at the time (the mean of the turns before and
 * after), both in requests per second by case id.
 */
export interface SideBySideRates {
  /** What was run. */
  settings: SideBySideSettings
  /** The baseline's case id. */
  baseline: string
  /** Per turn of a row: `{ [row]: rate, [baseline]: mean of the baseline turns around it }`. */
  turns: Record<string, number>[]
}

/**
 * Measures cases side by side (see the module's description). Each server is warmed up for the
 * run's warm-up time before a set's first turn; a turn with failed requests is an error.
 *
 * @param cases the cases, the baseline first, at least two
 * @param context the run's stack, tokens and load settings
 * @param settings sets, cycles, turn length
 * @param log progress lines
 * @returns every turn's rate, with the baseline's around it
 * @throws Error when a server does not start, accepts a forged token, or a turn fails
 */
export async function measureSideBySide(
  cases: readonly BenchCase[],
  context: RunContext,
  settings: SideBySideSettings,
  log: (message: string) => void,
): Promise<SideBySideRates> {
  const baseline = cases[0]!.id
  const turns: Record<string, number>[] = []
  for (let set = 0; set < settings.sets; set++) {
    log(`side by side, set ${set + 1}/${settings.sets}: ${cases.map((c) => c.row).join(', ')}`)
    const servers: ServerProcess[] = []
    const unregister = context.onInterrupt(() => Promise.all(servers.map((s) => s.stop())))
    try {
      for (const benchCase of cases) {
        const server = spawnServer(
          'tests/bench/server.ts',
          caseEnvironment(benchCase, context),
          context.workDir,
        )
        servers.push(server)
        await assertServing(server, benchCase, context.token)
      }
      const turn = (index: number, seconds = settings.turnSeconds) =>
        loadOnce(servers[index]!, cases[index]!, context, seconds)
      for (let index = 0; index < cases.length; index++) {
        await turn(index, Math.max(1, context.settings.warmupSeconds))
      }
      let before = await turn(0)
      for (let cycle = 0; cycle < settings.cycles; cycle++) {
        for (let index = 1; index < cases.length; index++) {
          const rate = await turn(index)
          const after = await turn(0)
          turns.push({ [cases[index]!.id]: rate, [baseline]: (before + after) / 2 })
          before = after
        }
      }
    } finally {
      await Promise.all(servers.map((server) => server.stop()))
      unregister()
    }
  }
  return { settings, baseline, turns }
}

/** One turn of wrk on one server: its requests per second. */
async function loadOnce(
  server: ServerProcess,
  benchCase: BenchCase,
  context: RunContext,
  seconds: number,
): Promise<number> {
  const run = await runWrk({ ...wrkTarget(server, context), durationSeconds: seconds })
  if (run.failures > 0) throw new Error(`${benchCase.id}: ${run.failures} failed requests`)
  // A server that stopped answering fails no request within the turn: it completes none.
  if (run.requests === 0) throw new Error(`${benchCase.id}: no request completed in a turn`)
  return run.requestsPerSecond
}
