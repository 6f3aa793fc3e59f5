// `supabase functions deploy` bundles each function from its entrypoint's import graph: a function
// that imports a file outside functions/ (the local stack, the tests) or a plain URL deploys
// broken or not at all. `deno info --json` lists that graph with deno.json's import map, which is
// import_map.json, the file config.toml gives the CLI.
import { assert, assertEquals } from '@std/assert'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { repoRoot } from '../../supabase/local/paths.ts'

interface InfoModule {
  kind?: string
  specifier: string
  error?: string
}

function functionNames(): string[] {
  return [...Deno.readDirSync(join(repoRoot, 'functions'))]
    .filter((entry) => entry.isDirectory && !/^[_.]/.test(entry.name))
    .map((entry) => entry.name)
    .sort()
}

async function importGraph(entrypoint: string): Promise<InfoModule[]> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ['info', '--json', entrypoint],
    cwd: repoRoot,
    stdout: 'piped',
    stderr: 'piped',
  }).output()
  const stderr = new TextDecoder().decode(output.stderr)
  assertEquals(output.code, 0, `deno info ${entrypoint}: ${stderr}`)
  return (JSON.parse(new TextDecoder().decode(output.stdout)) as { modules: InfoModule[] }).modules
}

/** Why a module cannot be bundled for deployment, or null when it can. */
function outsideReason(module: InfoModule, functionsDir: string): string | null {
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
    const modules = await importGraph(join('functions', name, 'index.ts'))
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
