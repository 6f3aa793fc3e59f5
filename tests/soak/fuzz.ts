/**
 * `deno task fuzz`: the long fuzz run of every target, the in-process ones of
 * `tests/hostile/fuzz_cases.ts` and the real-stack ones of `tests/hostile/fuzz_routes.ts` (the CI
 * tests run a bounded number of cases per target from a fixed seed; this runs as many as asked
 * from any seed).
 *
 * Usage: deno run --allow-all tests/soak/fuzz.ts [--runs 100000] [--seed <n>]
 *          [--target <name>] [--path <fast-check path>]
 *
 * The runs are shared among the targets by weight, in per cent: tokens 40, authorization 20,
 * login 12 and refresh 4 (in process, fake or unreachable upstream), notes 17, logout 1,
 * stack-login 3 and stack-refresh 3 (real stack: each login that reaches the auth server costs it
 * a bcrypt comparison or a session). The real-stack targets run against the stack that
 * `EDGE_AUTH_TEST_STACK` names, else against a throwaway stack started here; without the auth
 * server they are skipped, with the reason, except under CI, where that is a failure. Prints the
 * seed, the cases and statuses per target and in all, and for a failure the command that
 * replays it; exits 1 on a failure.
 *
 * @module
 */
import { parseArgs } from 'node:util'
import { type EphemeralStack, startEphemeralStack } from '../../supabase/local/ephemeral.ts'
import { type FuzzTarget, runTarget, setUpFuzz, type TargetRun } from '../hostile/fuzz_cases.ts'
import { type RouteFuzzSetup, setUpRouteFuzz } from '../hostile/fuzz_routes.ts'
import { type TestStack, testStack } from '../_helpers/stack.ts'

const STACK_TARGETS = ['stack-login', 'stack-refresh', 'logout', 'notes']

/** The stack the real-stack targets use, and how to let go of it. */
async function openStack(): Promise<{ info: TestStack; dispose(): Promise<void> }> {
  if (Deno.env.get('EDGE_AUTH_TEST_STACK')) {
    console.log(`fuzz: using the stack described by ${Deno.env.get('EDGE_AUTH_TEST_STACK')}`)
    return { info: testStack(), dispose: () => Promise.resolve() }
  }
  const ephemeral: EphemeralStack = await startEphemeralStack({
    log: (message) => console.error(`fuzz stack: ${message}`),
  })
  const { info, startMs } = ephemeral.stack
  console.log(`fuzz: stack ready in ${(startMs / 1000).toFixed(1)}s at ${info.url}`)
  return { info, dispose: () => ephemeral.dispose() }
}

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
  const wanted = (name: string) => values.target === undefined || values.target === name

  const local = await setUpFuzz()
  let stack: Awaited<ReturnType<typeof openStack>> | null = null
  let routes: RouteFuzzSetup | null = null
  const runs: TargetRun[] = []
  const started = performance.now()
  try {
    if (STACK_TARGETS.some(wanted)) {
      stack = await openStack()
      if (stack.info.authServer) routes = await setUpRouteFuzz(stack.info)
      else {
        console.log(
          `fuzz: real-stack targets SKIPPED, no auth server: ${
            stack.info.authServerUnavailableReason ?? 'unknown reason'
          }`,
        )
      }
    }
    const statuses: Record<string, Record<string, number>> = {
      ...local.statuses,
      ...routes?.statuses,
    }
    const targets = [...local.targets, ...(routes?.targets ?? [])]
      .filter((t: FuzzTarget<string>) => wanted(t.name))
    if (targets.length === 0) throw new Error(`No target named ${values.target}`)
    const weights = targets.reduce((sum, t) => sum + t.weight, 0)
    console.log(`fuzz: seed ${seed}, ${total} cases over ${targets.map((t) => t.name).join(', ')}`)
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
      const seen = Object.entries(statuses[run.name] ?? {}).sort().map(([s, n]) => `${s} ×${n}`)
      console.log(`fuzz: ${run.name}: statuses ${seen.join(' ')}`)
      if (run.report) console.log(run.report)
    }
  } finally {
    await routes?.close()
    await local.close()
    await stack?.dispose()
  }
  const cases = runs.reduce((sum, run) => sum + run.runs, 0)
  const failed = runs.filter((run) => run.failed).length
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  console.log(`fuzz: ${cases} cases, ${failed} failed target(s), seed ${seed}, ${seconds}s`)
  return failed === 0 ? 0 : 1
}

if (import.meta.main) Deno.exit(await main())
