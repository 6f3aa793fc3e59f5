// The shared library's folders import only downwards, and only the Hono adapter knows Hono: the
// core decides on `Request`s and values, so it can be read, tested and reused without a framework.
// One exception: the error type extends Hono's `HTTPException` (a plain `Error` subclass, nothing
// else of Hono), so that any Hono app renders it without an `onError` of ours.
// The package's entry modules, at its top, re-export from any folder (tests/docs/package_test.ts).
import { assertEquals } from '@std/assert'
import { join } from 'node:path'
import { repoRoot } from '../../supabase/local/paths.ts'

/** What each folder of functions/_shared may import, besides itself. */
const MAY_IMPORT: Record<string, readonly string[]> = {
  core: [],
  http: ['core'],
  keys: ['core'],
  tokens: ['core', 'keys'],
  db: ['core'],
  sessions: ['core', 'db'],
  upstream: ['core', 'http'],
  auth: ['core', 'db', 'keys', 'sessions', 'tokens'],
  hono: ['core', 'http', 'auth', 'tokens'],
}

const shared = join(repoRoot, 'functions', '_shared')

function sourcesOf(folder: string): string[] {
  return [...Deno.readDirSync(join(shared, folder))]
    .filter((entry) => entry.isFile && entry.name.endsWith('.ts'))
    .map((entry) => entry.name)
}

function importsOf(path: string): string[] {
  const source = Deno.readTextFileSync(path)
  return [...source.matchAll(/^(?:import|export)[^'"]*from\s+'([^']+)'/gm)].map((m) => m[1]!)
}

Deno.test("functions/_shared holds folders, each listed with what it may import and a README, and at its top only the entry modules of the package's exports", () => {
  const entries = [...Deno.readDirSync(shared)]
  const exports = (JSON.parse(Deno.readTextFileSync(join(shared, 'deno.json'))) as {
    exports: Record<string, string>
  }).exports
  assertEquals(
    entries.filter((entry) => entry.isFile && entry.name.endsWith('.ts')).map((e) => e.name).sort(),
    Object.values(exports).map((file) => file.replace(/^\.\//, '')).sort(),
  )
  assertEquals(
    entries.filter((entry) => entry.isDirectory).map((entry) => entry.name).sort(),
    Object.keys(MAY_IMPORT).sort(),
  )
  for (const folder of Object.keys(MAY_IMPORT)) {
    Deno.statSync(join(shared, folder, 'README.md'))
  }
})

for (const [folder, allowed] of Object.entries(MAY_IMPORT)) {
  Deno.test(`functions/_shared/${folder}: imports only ${allowed.join(', ') || 'nothing of ours'}${folder === 'hono' ? '' : ', never hono'}`, () => {
    const wrong: string[] = []
    for (const file of sourcesOf(folder)) {
      for (const specifier of importsOf(join(shared, folder, file))) {
        if (specifier === 'hono' || specifier.startsWith('hono/')) {
          const exception = `${folder}/${file}` === 'core/errors.ts' &&
            (specifier === 'hono/http-exception' || specifier === 'hono/utils/http-status')
          if (folder !== 'hono' && !exception) wrong.push(`${file} imports ${specifier}`)
          continue
        }
        if (!specifier.startsWith('.')) continue
        const target = specifier.startsWith('./') ? folder : specifier.split('/')[1]!
        if (target !== folder && !allowed.includes(target)) {
          wrong.push(`${file} imports ${specifier}`)
        }
      }
    }
    assertEquals(wrong, [])
  })
}
