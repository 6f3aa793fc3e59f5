/**
 * `deno task fuzz`: the long fuzz run of `tests/hostile/fuzz_cases.ts` (the CI test runs a few
 * hundred cases per target from a fixed seed; this runs as many as asked from any seed).
 *
 * Usage: deno run --allow-all tests/soak/fuzz.ts [--runs 100000] [--seed <n>]
 *          [--target tokens|authorization|login|refresh] [--path <fast-check path>]
 *
 * The runs are shared among the targets by weight (tokens 4, authorization 2, login 2,
 * refresh 1). Prints the seed, the cases run per target and in all, and for a failure the command
 * that replays it; exits 1 on a failure. Everything runs in process, on loopback.
 *
 * @module
 */
import { parseArgs } from 'node:util'
import { runTarget, setUpFuzz, type TargetRun } from '../hostile/fuzz_cases.ts'

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      runs: { type: 'string', default: '100000' },
      seed: { type: 'string' },
      target: { type: 'string' },
      path: { type: 'string' },
    },
  })
  const total = Number(values.runs)
  if (!Number.isInteger(total) || total < 1) throw new Error('--runs must be a positive integer')
  // A fresh seed per run unless told: a long run should explore, a replay must not.
  const seed = values.seed === undefined
    ? Date.now() ^ (Math.random() * 0x7fffffff)
    : Number(values.seed)
  const setup = await setUpFuzz()
  const targets = setup.targets.filter((t) =>
    values.target === undefined || t.name === values.target
  )
  if (targets.length === 0) throw new Error(`No target named ${values.target}`)
  const weights = targets.reduce((sum, t) => sum + t.weight, 0)
  console.log(`fuzz: seed ${seed}, ${total} cases over ${targets.map((t) => t.name).join(', ')}`)
  const runs: TargetRun[] = []
  const started = performance.now()
  try {
    for (const target of targets) {
      // Rounded up: the run is at least as long as asked.
      const numRuns = Math.ceil((total * target.weight) / weights)
      const t0 = performance.now()
      const run = await runTarget(target, { numRuns, seed, path: values.path })
      runs.push(run)
      const seconds = ((performance.now() - t0) / 1000).toFixed(1)
      console.log(
        `fuzz: ${run.name}: ${run.runs} cases (${run.skipped} skipped) in ${seconds}s: ${
          run.failed ? 'FAILED' : 'ok'
        }`,
      )
      const statuses = Object.entries(setup.statuses[run.name]).map(([s, n]) => `${s} ×${n}`)
      console.log(`fuzz: ${run.name}: statuses ${statuses.join(' ')}`)
      if (run.report) console.log(run.report)
    }
  } finally {
    await setup.close()
  }
  const cases = runs.reduce((sum, run) => sum + run.runs, 0)
  const failed = runs.filter((run) => run.failed).length
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  console.log(`fuzz: ${cases} cases, ${failed} failed target(s), seed ${seed}, ${seconds}s`)
  return failed === 0 ? 0 : 1
}

if (import.meta.main) Deno.exit(await main())
