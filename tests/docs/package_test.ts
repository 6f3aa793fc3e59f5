// The library is a Deno package (functions/_shared/deno.json) and the functions here are its first
// users: they import it only by the bare names of its exports, which import_map.json maps to the
// package's entry modules exactly as the package declares them, so a function reads like a project
// that took the package from a registry.
import { assert, assertEquals } from '@std/assert'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { repoRoot } from '../../supabase/local/paths.ts'
import { copyTree } from '../_helpers/copy_tree.ts'
import { functionNames } from '../_helpers/function_names.ts'
import { type GraphModule, moduleGraph, resolvedTo } from './module_graph.ts'

interface PackageConfig {
  name: string
  version: string
  license: string
  exports: Record<string, string>
  imports: Record<string, string>
  compilerOptions?: unknown
  fmt?: Record<string, unknown>
  lint?: Record<string, unknown>
}

const packageDir = join(repoRoot, 'functions', '_shared')
const pkg = JSON.parse(Deno.readTextFileSync(join(packageDir, 'deno.json'))) as PackageConfig
const importMap = (JSON.parse(Deno.readTextFileSync(join(repoRoot, 'import_map.json'))) as {
  imports: Record<string, string>
}).imports

/** The bare name of each export (`@edge-auth/edge-auth`, `@edge-auth/edge-auth/hono`, …). */
function exportName(subpath: string): string {
  return subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`
}

/** Each export's bare name and the URL of its entry module. */
function exportUrls(root: string): Map<string, string> {
  const dir = pathToFileURL(join(root, 'functions', '_shared')).href
  return new Map(
    Object.entries(pkg.exports).map(([subpath, file]) => [
      exportName(subpath),
      `${dir}/${file.slice(2)}`,
    ]),
  )
}

/**
 * The imports of a function's own files (its folder, however deep) that are neither another file
 * of that folder, nor an export of the package by its bare name, nor a registry package: each as
 * `<file>: <specifier>`.
 */
function foreignImports(
  modules: readonly GraphModule[],
  functionDir: string,
  exports: ReadonlyMap<string, string>,
): string[] {
  const foreign: string[] = []
  for (const module of modules) {
    if (!module.specifier.startsWith(`${functionDir}/`)) continue
    const file = module.specifier.slice(functionDir.length + 1)
    for (const dependency of module.dependencies ?? []) {
      const target = resolvedTo(dependency)
      const written = dependency.specifier
      const ownFile = target?.startsWith(`${functionDir}/`)
      const packageExport = exports.has(written) && exports.get(written) === target
      const registry = /^(npm|jsr|node):/.test(target ?? '') && !/^(\.|\/|file:)/.test(written)
      if (!ownFile && !packageExport && !registry) foreign.push(`${file}: ${written}`)
    }
  }
  return foreign.sort()
}

Deno.test(`the package has a name, a version, the MIT licence and its entry modules`, () => {
  assertEquals(pkg.name, '@edge-auth/edge-auth')
  assert(/^\d+\.\d+\.\d+$/.test(pkg.version), pkg.version)
  assertEquals(pkg.license, 'MIT')
  assert(Deno.readTextFileSync(join(repoRoot, 'LICENSE')).startsWith('MIT License'))
  for (const [subpath, file] of Object.entries(pkg.exports)) {
    const source = Deno.readTextFileSync(join(packageDir, file))
    assert(/^\/\*\*[\s\S]*?@module\n \*\/\n/.test(source), `${subpath} (${file}) has module docs`)
  }
})

Deno.test('import_map.json maps the package by exactly its exports: each bare name to its entry module', () => {
  const mapped = Object.entries(importMap)
    .filter(([key]) => key === pkg.name || key.startsWith(`${pkg.name}/`))
    .sort()
  const declared = Object.entries(pkg.exports)
    .map(([subpath, file]) => [exportName(subpath), `./functions/_shared/${file.slice(2)}`])
    .sort()
  assertEquals(mapped, declared)
})

Deno.test('the package pins each dependency exactly as import_map.json does', () => {
  for (const [name, target] of Object.entries(pkg.imports)) {
    assertEquals(importMap[name], target, name)
  }
})

Deno.test("the package type-checks, formats and lints under the repository's settings (Deno reads its deno.json for a file of it given alone)", () => {
  const root = JSON.parse(Deno.readTextFileSync(join(repoRoot, 'deno.json'))) as PackageConfig
  const withoutExclude = (options: Record<string, unknown> = {}) => {
    const { exclude: _, ...rest } = options
    return rest
  }
  assertEquals(pkg.compilerOptions, root.compilerOptions)
  assertEquals(withoutExclude(pkg.fmt), withoutExclude(root.fmt))
  assertEquals(withoutExclude(pkg.lint), withoutExclude(root.lint))
})

// Of Hono, the framework-free exports reach only its exception type, which the error type
// extends so that any Hono app renders it (a plain `Error` subclass and a status type).
const HONO_EXCEPTION = ['npm:/hono@4.13.23/http-exception', 'npm:/hono@4.13.23/utils/http-status']

for (const [subpath, file] of Object.entries(pkg.exports)) {
  const hono = subpath === './hono'
  Deno.test(`export ${exportName(subpath)} (${file}) ${hono ? 'is the one that reaches' : 'reaches nothing of'} Hono${hono ? '' : ' but its exception type'}`, async () => {
    const modules = await moduleGraph(join('functions', '_shared', file))
    const reached = modules.map((module) => module.specifier)
      .filter((specifier) => specifier.startsWith('npm:/hono@'))
    if (hono) assert(reached.some((specifier) => !HONO_EXCEPTION.includes(specifier)))
    else assertEquals(reached, HONO_EXCEPTION)
  })
}

for (const name of functionNames()) {
  Deno.test(`function ${name}: its files import the library only through the package's exports, by bare name`, async () => {
    const functionDir = pathToFileURL(join(repoRoot, 'functions', name)).href
    const modules = await moduleGraph(join('functions', name, 'index.ts'))
    assert(modules.some((module) => module.specifier === `${functionDir}/index.ts`))
    assertEquals(foreignImports(modules, functionDir, exportUrls(repoRoot)), [])
  })
}

// The check above, on functions written to break it: each way of importing, in a file reached
// from the entry point through another, of each kind of path around the package's exports.
const FORMS: Record<string, (target: string, n: number) => string> = {
  'import': (target, n) => `import { a${n} } from '${target}'\nconsole.log(a${n})`,
  'import type': (target, n) => `import type { T${n} } from '${target}'\nexport type U${n} = T${n}`,
  'export *': (target) => `export * from '${target}'`,
  'export { … }': (target, n) => `export { b${n} } from '${target}'`,
  'dynamic import()': (target) => `await import('${target}')`,
}
const FOREIGN = [
  '../../_shared/core/errors.ts', // a module of the library by path
  '../../_shared/hono.ts', // an entry module by path, not by name
  '../../other/helper.ts', // another function's file
  '../../../outside.ts', // outside functions/
]
const ALLOWED = ['@edge-auth/edge-auth', '@edge-auth/edge-auth/hono', '../local.ts', 'hono']

for (const [form, write] of Object.entries(FORMS)) {
  Deno.test(`the check flags a function file's ${form} of the library by path, of another function and of a file outside functions/, and passes its exports, its own files and npm packages`, async () => {
    const root = await Deno.makeTempDir({ prefix: 'edge-auth-imports-' })
    try {
      await Deno.mkdir(join(root, 'functions', 'probe', 'deep'), { recursive: true })
      await Deno.mkdir(join(root, 'functions', 'other'), { recursive: true })
      for (const file of ['deno.json', 'deno.lock', 'import_map.json']) {
        await Deno.copyFile(join(repoRoot, file), join(root, file))
      }
      // The copy's deno.json: its import map only (the repository's may link local stand-ins).
      await Deno.writeTextFile(join(root, 'deno.json'), '{ "importMap": "./import_map.json" }\n')
      await copyTree(packageDir, join(root, 'functions', '_shared'))
      await Deno.writeTextFile(join(root, 'functions', 'other', 'helper.ts'), 'export {}\n')
      await Deno.writeTextFile(join(root, 'outside.ts'), 'export {}\n')
      await Deno.writeTextFile(join(root, 'functions', 'probe', 'local.ts'), 'export {}\n')
      await Deno.writeTextFile(
        join(root, 'functions', 'probe', 'index.ts'),
        "import './deep/inner.ts'\n",
      )
      const targets = [...FOREIGN, ...ALLOWED]
      await Deno.writeTextFile(
        join(root, 'functions', 'probe', 'deep', 'inner.ts'),
        targets.map((target, n) => write(target, n)).join('\n') + '\n',
      )
      const modules = await moduleGraph(join('functions', 'probe', 'index.ts'), { cwd: root })
      const functionDir = pathToFileURL(join(root, 'functions', 'probe')).href
      assertEquals(
        foreignImports(modules, functionDir, exportUrls(root)),
        FOREIGN.map((target) => `deep/inner.ts: ${target}`).sort(),
      )
    } finally {
      await Deno.remove(root, { recursive: true })
    }
  })
}
