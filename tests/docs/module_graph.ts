/**
 * The module graph of an entry point as Deno resolves it (`deno info --json`, with deno.json and
 * its import map), for the docs tests that check what the functions and the package import.
 *
 * @module
 */
import { assertEquals } from '@std/assert'
import { repoRoot } from '../../supabase/local/paths.ts'

/** Where one import of a module resolved to (`code` for values, `type` for type-only imports). */
export interface GraphDependency {
  /** The specifier as written in the source. */
  specifier: string
  code?: { specifier?: string; error?: string }
  type?: { specifier?: string; error?: string }
}

/** A module of the graph. */
export interface GraphModule {
  /** `esm`, `npm`, `node`, `json`, …; absent for a module that failed to load. */
  kind?: string
  /** Its resolved URL (`file:///…`, `npm:/…`). */
  specifier: string
  error?: string
  dependencies?: GraphDependency[]
}

/** Options of {@linkcode moduleGraph}. */
export interface ModuleGraphOptions {
  /** The folder Deno runs in (default the repository). */
  cwd?: string
  /** `--config` (default: the one Deno discovers from `cwd`). */
  config?: string
}

/**
 * Runs `deno info --json` on an entry point.
 *
 * @param entrypoint a path, relative to `cwd`
 * @param options the folder and configuration
 * @returns every module of the graph
 */
export async function moduleGraph(
  entrypoint: string,
  options: ModuleGraphOptions = {},
): Promise<GraphModule[]> {
  const args = ['info', '--json', ...(options.config ? ['--config', options.config] : [])]
  const output = await new Deno.Command(Deno.execPath(), {
    args: [...args, entrypoint],
    cwd: options.cwd ?? repoRoot,
    stdout: 'piped',
    stderr: 'piped',
  }).output()
  const stderr = new TextDecoder().decode(output.stderr)
  assertEquals(output.code, 0, `deno info ${entrypoint}: ${stderr}`)
  return (JSON.parse(new TextDecoder().decode(output.stdout)) as { modules: GraphModule[] }).modules
}

/**
 * Where an import resolved to, or undefined when it did not resolve.
 *
 * @param dependency one import of a module
 * @returns the resolved URL
 */
export function resolvedTo(dependency: GraphDependency): string | undefined {
  return dependency.code?.specifier ?? dependency.type?.specifier
}

/** An import map's `imports`. */
export type ImportMapEntries = Readonly<Record<string, string>>

/**
 * The keys of an import map a graph's own files use: for each bare specifier written in a file of
 * the repository, the exact key, else the longest `…/` prefix key (how an import map resolves).
 *
 * @param modules the graph
 * @param imports the import map's entries
 * @returns the keys, sorted; a bare specifier no key resolves is an assertion failure
 */
export function importMapKeysUsed(
  modules: readonly GraphModule[],
  imports: ImportMapEntries,
): string[] {
  const root = new URL(`file://${repoRoot}/`).href
  const keys = new Set<string>()
  for (const module of modules) {
    if (!module.specifier.startsWith(root)) continue
    for (const { specifier } of module.dependencies ?? []) {
      if (/^(\.{0,2}\/|[a-z]+:)/.test(specifier)) continue
      const key = specifier in imports ? specifier : Object.keys(imports)
        .filter((candidate) => candidate.endsWith('/') && specifier.startsWith(candidate))
        .sort((a, b) => b.length - a.length)[0]
      assertEquals(typeof key, 'string', `${module.specifier} imports ${specifier}: no key maps it`)
      keys.add(key!)
    }
  }
  return [...keys].sort()
}
