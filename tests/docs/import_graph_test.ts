// `supabase functions deploy` bundles each function from its entrypoint's import graph: a function
// that imports a file outside functions/ (the local stack, the tests) or a plain URL deploys
// broken or not at all. `deno info --json` lists that graph with deno.json's import map,
// import_map.json. config.toml gives the CLI each function's own map,
// functions/<name>/import_map.json: the CLI (`--use-api`, the project's pinned version) uploads
// the graph and, besides, every local file the map names with its graph, so a map naming only
// what the function imports makes the upload exactly the function's graph. Each function's map
// holds exactly the keys its graph uses, each resolving as the root map resolves it.
import { assert, assertEquals } from '@std/assert'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { repoRoot } from '../../supabase/local/paths.ts'
import { runSupabaseCli } from '../../supabase/local/supabase_cli.ts'
import { functionNames } from '../_helpers/function_names.ts'
import { freshClone } from './fresh_clone.ts'
import {
  type GraphModule,
  type ImportMapEntries,
  importMapKeysUsed,
  moduleGraph,
} from './module_graph.ts'

const graphs = new Map<string, Promise<GraphModule[]>>()

/** A function's import graph: one `deno info` run, shared by the checks below. */
function graphOf(name: string): Promise<GraphModule[]> {
  let graph = graphs.get(name)
  if (!graph) graphs.set(name, graph = moduleGraph(join('functions', name, 'index.ts')))
  return graph
}

/** Why a module cannot be bundled for deployment, or null when it can. */
function outsideReason(module: GraphModule, functionsDir: string): string | null {
  if (module.error) return `unresolvable: ${module.error}`
  switch (module.kind) {
    case 'npm':
      return null
    case 'node':
      // Node built-ins (`node:…`) are part of the Edge Runtime, not files to bundle.
      return null
    case 'esm':
    case 'asserted':
    case 'json':
    case 'wasm':
      if (module.specifier.startsWith(`${functionsDir}/`)) return null
      // A `jsr:` import resolves to the registry's https URLs.
      if (module.specifier.startsWith('https://jsr.io/')) return null
      return 'a file outside functions/ (or a plain URL import)'
    default:
      return `an unexpected module kind ${module.kind}`
  }
}

for (const name of functionNames()) {
  Deno.test(`function ${name}: its import graph holds only files under functions/ and npm:/jsr: packages`, async () => {
    const functionsDir = pathToFileURL(join(repoRoot, 'functions')).href
    const modules = await graphOf(name)
    assert(
      modules.some((module) => module.specifier === `${functionsDir}/${name}/index.ts`),
      'the graph contains the entrypoint',
    )
    const outside = modules
      .map((module) => ({ module, reason: outsideReason(module, functionsDir) }))
      .filter(({ reason }) => reason !== null)
      .map(({ module, reason }) => `${module.specifier}: ${reason}`)
    assertEquals(outside, [], `modules supabase functions deploy could not bundle`)
  })
}

/** A well-formed project ref and access token of nobody's: the CLI stops at the network. */
const REF = 'abcdefghijklmnopqrst'
const ACCESS_TOKEN = `sbp_${'0123456789abcdef'.repeat(2)}01234567`

let clone: Promise<string> | undefined
globalThis.addEventListener('unload', () => {
  // The clone is removed once, after the last test of this file used it.
  if (clone) clone.then((dir) => Deno.removeSync(dir, { recursive: true }))
})

/** The files of a graph that are in the repository, as paths relative to it. */
function localFiles(modules: readonly GraphModule[]): string[] {
  const root = pathToFileURL(repoRoot).href
  return modules
    .filter((module) => module.specifier.startsWith(`${root}/`))
    .map((module) => decodeURIComponent(module.specifier.slice(root.length + 1)))
}

function importsOf(path: string): ImportMapEntries {
  return (JSON.parse(Deno.readTextFileSync(join(repoRoot, path))) as { imports: ImportMapEntries })
    .imports
}

/** Where a target of functions/<name>/import_map.json points, as a root import map target. */
function asRootTarget(target: string): string {
  return target.startsWith('../') ? `./functions/${target.slice(3)}` : target
}

for (const name of functionNames()) {
  Deno.test(`functions/${name}/import_map.json: exactly the keys the function's graph uses, each resolving as import_map.json does`, async () => {
    const root = importsOf('import_map.json')
    const own = importsOf(join('functions', name, 'import_map.json'))
    const used = importMapKeysUsed(await graphOf(name), root)
    assertEquals(Object.keys(own).sort(), used)
    for (const [key, target] of Object.entries(own)) {
      assertEquals(asRootTarget(target), root[key], key)
    }
  })
}

for (const name of functionNames()) {
  Deno.test(`supabase functions deploy --use-api ${name} (the real CLI) uploads exactly its import map and its import graph, all under functions/, no file missing`, async () => {
    clone ??= freshClone()
    const workdir = await clone
    const run = await runSupabaseCli(
      ['functions', 'deploy', '--use-api', '--yes', '--debug', `--remote=${REF}`, name],
      { workdir, env: { SUPABASE_ACCESS_TOKEN: ACCESS_TOKEN } },
    )
    const output = run.stdout + run.stderr
    assert(/TransportError|Transport error|api\.supabase\.com/.test(output), output)
    const lines = output.split('\n')
    const uploaded = lines
      .map((line) => line.match(new RegExp(`^Uploading asset \\(${name}\\): (.+)$`))?.[1])
      .filter((path): path is string => path !== undefined)
    assertEquals(lines.filter((line) => line.startsWith('WARN')), [], 'no import left behind')
    const expected = new Set([join('functions', name, 'import_map.json')])
    for (const file of localFiles(await graphOf(name))) {
      expected.add(file)
    }
    assertEquals(uploaded.length, new Set(uploaded).size, 'each file once')
    assertEquals(uploaded.sort(), [...expected].sort())
    assertEquals(
      uploaded.filter((path) => !path.startsWith('functions/')),
      [],
    )
  })
}
