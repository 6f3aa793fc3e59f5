// postgres.js 3.4.9 writes to a connection the server closed from a timer, where nothing catches
// the error, and the isolate dies. The real driver against the real server, each case in a process
// of its own on the functions' Deno (the crash ends a process): the server ends a transaction's
// backend while a statement is in flight. postgres.js alone dies of it (the harness reproduces
// the crash), the guard keeps the isolate alive, and edge-auth's client writes nothing to the
// closed connection: the transaction fails with a connection error (a 503), the next query
// answers.
import { assert, assertEquals } from '@std/assert'
import { join } from 'node:path'
import { repoRoot } from '../../supabase/local/paths.ts'
import { resolveFunctionsRuntime } from '../../supabase/local/functions_runtime.ts'
import { testStack } from '../_helpers/stack.ts'

const SCRIPT = join(repoRoot, 'tests', '_helpers', 'deferred_write_crash.ts')
const CRASH = "Cannot read properties of null (reading 'write')"
const GUARD_LINE = 'a database connection closed under a deferred write'

/** Runs the script in `mode` on the functions' Deno: exit code, its JSON line, its stderr. */
async function provoke(mode: 'raw' | 'guarded' | 'client') {
  const runtime = await resolveFunctionsRuntime()
  const output = await new Deno.Command(runtime.path, {
    args: [
      'run',
      '--allow-all',
      '--config',
      join(repoRoot, 'deno.json'),
      // Another Deno may not read deno.lock's format (Deno 2.1 reads only lockfile v4).
      ...(runtime.foreign ? ['--no-lock'] : []),
      SCRIPT,
      mode,
      testStack().functionsDbUrl,
    ],
    stdout: 'piped',
    stderr: 'piped',
  }).output()
  const stdout = new TextDecoder().decode(output.stdout).trim()
  const stderr = new TextDecoder().decode(output.stderr)
  const line = stdout.split('\n').at(-1) ?? ''
  return {
    code: output.code,
    result: line.startsWith('{') ? JSON.parse(line) : null,
    stderr,
    runtime: runtime.version,
  }
}

Deno.test("a transaction's backend ended by the server mid-statement, plain postgres.js 3.4.9 -> the process dies of the deferred write (the harness reproduces the crash the guard is for)", async () => {
  const { code, result, stderr, runtime } = await provoke('raw')
  assert(code !== 0, `Deno ${runtime}: postgres.js survived; if it is fixed, the guard can go`)
  assertEquals(result, null)
  assert(stderr.includes(CRASH) && stderr.includes('nextWrite'), stderr)
})

Deno.test("the same with edge-auth's guard installed -> the isolate lives on, the transaction fails CONNECTION_CLOSED (503-class), the crash is logged", async () => {
  const { code, result, stderr, runtime } = await provoke('guarded')
  assertEquals(code, 0, `Deno ${runtime}: ${stderr}`)
  assertEquals(result.code, 'CONNECTION_CLOSED')
  assertEquals(result.unavailable, true)
  assert(stderr.includes(GUARD_LINE), stderr)
  assert(!stderr.includes('Uncaught'), stderr)
})

Deno.test("the same through edge-auth's client -> nothing written to the closed connection (no crash for the guard to catch), CONNECTION_CLOSED (503-class), the next query answers on a fresh connection", async () => {
  const { code, result, stderr, runtime } = await provoke('client')
  assertEquals(code, 0, `Deno ${runtime}: ${stderr}`)
  assertEquals(result, { code: 'CONNECTION_CLOSED', unavailable: true, next: 'answered' })
  assert(!stderr.includes(GUARD_LINE) && !stderr.includes(CRASH), stderr)
})
