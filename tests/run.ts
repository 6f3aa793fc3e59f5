/**
 * The test command: boots an ephemeral local stack (temporary state directory, free ports),
 * publishes its stack.json through `EDGE_AUTH_TEST_STACK`, runs `deno test --allow-all <args>`
 * (default `tests/`) as a child, then always stops the stack and exits with the child's code.
 *
 * With `EDGE_AUTH_TEST_STACK` already set, the tests run against that stack instead (e.g. the
 * `.local/stack.json` of `deno task start`). Without an auth server binary the ephemeral stack
 * starts degraded and the auth-dependent tests are ignored, except under CI (`CI` set), where a
 * missing auth server is a failure. The lane's settings, `EDGE_AUTH_FUNCTIONS_DENO` (the functions'
 * Deno), `EDGE_AUTH_POOLER` (the functions' database path) and `EDGE_AUTH_LEGACY_KEYS` (a project
 * with or without the legacy JWT keys), pass through to the stack.
 *
 * Usage: deno run --allow-all tests/run.ts [deno test arguments]
 *
 * @module
 */
import { join } from 'node:path'
import { tailFile } from '../supabase/local/processes.ts'
import { type EphemeralStack, startEphemeralStack } from '../supabase/local/ephemeral.ts'
import type { LocalStack } from '../supabase/local/stack.ts'

async function main(): Promise<number> {
  const testArgs = Deno.args.length > 0 ? Deno.args : ['tests/']
  let signalled: Deno.Signal | null = null
  let child: Deno.ChildProcess | null = null
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    Deno.addSignalListener(signal, () => {
      signalled = signal
      // A terminal's Ctrl-C reaches the child by itself; a SIGTERM sent to us alone does not.
      if (signal === 'SIGTERM') {
        try {
          child?.kill('SIGTERM')
        } catch {
          // Already exited.
        }
      }
    })
  }

  const existing = Deno.env.get('EDGE_AUTH_TEST_STACK')
  if (existing) {
    console.error(`test stack: using the running stack described by ${existing}`)
    child = spawnTests(testArgs, existing)
    return (await child.status).code
  }

  let ephemeral: EphemeralStack | null = null
  let code = 1
  try {
    ephemeral = await startEphemeralStack({
      log: (message) => console.error(`test stack: ${message}`),
    })
    const { stack } = ephemeral
    console.error(describeStack(stack))
    if (signalled) return 130
    child = spawnTests(testArgs, stack.paths.stackJson)
    code = (await child.status).code
    if (code !== 0) printLogs(stack)
  } catch (err) {
    console.error(`test stack: cannot start: ${(err as Error).message}`)
  } finally {
    await ephemeral?.dispose()
  }
  if (signalled && code === 0) return signalled === 'SIGINT' ? 130 : 143
  return code
}

/** The lane in one line: what runs the functions, their database path, the keys, the auth server. */
function describeStack(stack: LocalStack): string {
  const { info } = stack
  const database = info.database === 'direct'
    ? 'database direct'
    : 'database through PgBouncer (transaction mode)'
  // The reason was logged once as the stack started; no test file repeats it.
  const auth = info.authServer
    ? 'with the auth server'
    : 'WITHOUT the auth server (see above): auth-dependent tests are ignored'
  const keys = info.legacyKeys ? 'legacy keys on' : 'legacy keys off'
  return `test stack: ready in ${(stack.startMs / 1000).toFixed(1)}s at ${info.url} | ` +
    `functions on ${info.functionsRuntime} | ${database} | ${keys} | ${auth}`
}

function spawnTests(args: string[], stackJson: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ['test', '--allow-all', ...args],
    env: { EDGE_AUTH_TEST_STACK: stackJson },
    stdin: 'inherit',
    stdout: 'inherit',
    stderr: 'inherit',
  }).spawn()
}

/** The state directory is deleted afterwards, so show the children's last words on failure. */
function printLogs(stack: LocalStack): void {
  const logs = [
    join(stack.paths.logs, 'functions.log'),
    join(stack.paths.logs, 'auth.log'),
    join(stack.paths.logs, 'pgbouncer.log'),
    join(stack.paths.pooler, 'pgbouncer.log'),
  ]
  for (const name of logs) {
    const tail = tailFile(name, 30)
    const shown = name.slice(stack.paths.root.length + 1)
    if (tail) console.error(`--- test stack: last lines of ${shown} ---\n${tail}`)
  }
}

if (import.meta.main) Deno.exit(await main())
