// No state at module level in the package: pools, flags, warn-once sets, caches and throttles
// belong to the instance that made them (an `Auth`, a session check, an app), so two instances in
// one process share nothing and a test's instance leaves nothing behind. A module-level `let` or
// `var`, or a module-level `Map`, `Set`, `WeakMap` or `WeakSet` that is not a constant table
// (typed `ReadonlyMap` or `ReadonlySet`), fails here unless the allow-list below says why it is
// per process by nature.
import { assertEquals } from '@std/assert'
import { join, relative } from 'node:path'
import { repoRoot } from '../../supabase/local/paths.ts'

/** `file name`: why that binding is per process by nature. */
const ALLOWED: Readonly<Record<string, string>> = {
  'db/postgres_pool.ts loading':
    'the memoized dynamic import of postgres.js: a module is loaded once per isolate',
  'db/write_crash_guard.ts installed':
    'the guard is a listener on the isolate itself: installed once per isolate',
}

const shared = join(repoRoot, 'functions', '_shared')

function* sources(dir: string): Generator<string> {
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name)
    if (entry.isDirectory) yield* sources(path)
    else if (entry.name.endsWith('.ts')) yield path
  }
}

/** The module-level bindings of a source that hold state, as `file name`. */
function moduleState(path: string): string[] {
  const file = relative(shared, path)
  const found: string[] = []
  for (const line of Deno.readTextFileSync(path).split('\n')) {
    // Unindented: at module level (the formatter indents everything nested).
    const mutable = line.match(/^(?:export )?(?:let|var) (\w+)/)
    if (mutable) found.push(`${file} ${mutable[1]}`)
    const collection = line.match(
      /^(?:export )?const (\w+)\s*(:[^=]*)?=\s*new (?:Map|Set|WeakMap|WeakSet)\b/,
    )
    if (collection && !/^:\s*Readonly(?:Map|Set)</.test(collection[2] ?? '')) {
      found.push(`${file} ${collection[1]}`)
    }
  }
  return found
}

Deno.test('functions/_shared keeps no state at module level: no let, no mutable Map/Set/WeakMap/WeakSet, outside the allow-list with its reasons', () => {
  const found = [...sources(shared)].flatMap(moduleState).sort()
  assertEquals(found.filter((binding) => !(binding in ALLOWED)), [])
  // The allow-list names only what exists: a stale entry would excuse a future binding.
  assertEquals(Object.keys(ALLOWED).filter((binding) => !found.includes(binding)), [])
})

Deno.test('the module-state rule catches what it is for: generated module-level lets and collections fail, nested ones and constant tables pass', () => {
  const dir = Deno.makeTempDirSync()
  try {
    const cases: [string, boolean][] = []
    for (const name of ['cache', 'seen', 'pools', 'flag']) {
      for (const kind of ['Map', 'Set', 'WeakMap', 'WeakSet']) {
        cases.push([`const ${name} = new ${kind}<string, number>()`, true])
        cases.push([`export const ${name}: ${kind}<string> = new ${kind}()`, true])
        cases.push([`  const ${name} = new ${kind}()`, false])
      }
      cases.push([`let ${name} = false`, true])
      cases.push([`export let ${name}: number | undefined`, true])
      cases.push([`  let ${name} = 0`, false])
      cases.push([`const ${name}: ReadonlySet<string> = new Set(['a'])`, false])
      cases.push([`const ${name}: ReadonlyMap<string, number> = new Map([['a', 1]])`, false])
    }
    for (const [line, flagged] of cases) {
      const path = join(dir, 'case.ts')
      Deno.writeTextFileSync(path, `${line}\n`)
      assertEquals(moduleState(path).length > 0, flagged, line)
    }
  } finally {
    Deno.removeSync(dir, { recursive: true })
  }
})
