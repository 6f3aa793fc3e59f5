// What has to be written down for each function and each setting, checked against the code:
// supabase/config.toml (what `supabase functions serve/deploy` reads), the README's Functions
// table, and the README's Configuration table against the variables config.ts reads.
import { assert, assertEquals } from '@std/assert'
import { join } from 'node:path'
import { repoRoot } from '../../supabase/local/paths.ts'
import { functionNames } from '../_helpers/function_names.ts'
import { codeSpans, readme, section, tableRows } from './markdown.ts'

type TomlValue = string | boolean | number

/**
 * The `[functions.<name>]` tables of config.toml: enough TOML for `key = "string" | bool | int`
 * lines with trailing comments, which is all these tables hold.
 */
function functionBlocks(): Map<string, Record<string, TomlValue>> {
  const text = Deno.readTextFileSync(join(repoRoot, 'supabase', 'config.toml'))
  const blocks = new Map<string, Record<string, TomlValue>>()
  let current: Record<string, TomlValue> | null = null
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const header = /^\[([^\]]+)\]/.exec(line)
    if (header) {
      const name = /^functions\.("?)([^"]+)\1$/.exec(header[1]!.trim())
      current = name ? {} : null
      if (name) {
        assert(!blocks.has(name[2]!), `[functions.${name[2]}] appears once`)
        blocks.set(name[2]!, current!)
      }
      continue
    }
    if (!current) continue
    const pair = /^([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|true|false|-?\d+)\s*(#.*)?$/.exec(line)
    assert(pair, `config.toml line is key = value: ${line}`)
    const value = pair[2]!
    current[pair[1]!] = value.startsWith('"')
      ? JSON.parse(value)
      : value === 'true' || value === 'false'
      ? value === 'true'
      : Number(value)
  }
  return blocks
}

Deno.test('every function directory has a [functions.<name>] block in supabase/config.toml, and every block a directory', () => {
  const names = functionNames()
  assert(names.length > 0, 'functions/ holds functions')
  assertEquals([...functionBlocks().keys()].sort(), names)
})

Deno.test('every [functions.<name>] block: verify_jwt = false, entrypoint ../functions/<name>/index.ts, import_map ../import_map.json', () => {
  for (const [name, block] of functionBlocks()) {
    // A missing verify_jwt means true to the CLI: the gateway would answer before the function.
    assertEquals(block['verify_jwt'], false, `[functions.${name}] verify_jwt`)
    assertEquals(
      block['entrypoint'],
      `../functions/${name}/index.ts`,
      `[functions.${name}] entrypoint`,
    )
    // Its own map: the CLI uploads every local file a map names (import_graph_test.ts).
    assertEquals(
      block['import_map'],
      `../functions/${name}/import_map.json`,
      `[functions.${name}] import_map`,
    )
    if ('enabled' in block) assertEquals(block['enabled'], true, `[functions.${name}] enabled`)
    const entrypoint = join(repoRoot, 'supabase', block['entrypoint'] as string)
    assert(Deno.statSync(entrypoint).isFile, `${entrypoint} exists`)
  }
})

Deno.test('the README Functions table has one row per function directory, and no other', () => {
  const text = section(readme(), 'Functions')
  const rows = tableRows(text)
  const columns = text.split('\n').find((line) => line.startsWith('|'))!.split(/(?<!\\)\|/).length
  for (const row of rows) assertEquals(row.length, columns - 2, `cells of the row ${row[0]}`)
  const documented = rows.map((row) => codeSpans(row[0] ?? '')[0] ?? row[0] ?? '').sort()
  assertEquals(documented, functionNames())
})

/** The variables config.ts reads: `read('NAME')` and `parseInteger(read, 'NAME', …)`. */
function variablesRead(): string[] {
  const source = Deno.readTextFileSync(join(repoRoot, 'functions', '_shared', 'core', 'config.ts'))
  const names = new Set<string>()
  for (const match of source.matchAll(/\bread\(\s*'([A-Z][A-Z0-9_]*)'\s*\)/g)) names.add(match[1]!)
  for (const match of source.matchAll(/\bparseInteger\(\s*read\s*,\s*'([A-Z][A-Z0-9_]*)'/g)) {
    names.add(match[1]!)
  }
  // Old names read as deprecated aliases of the new ones (`EDGE_AUTH_X: 'SUPABASE_X'`).
  for (const match of source.matchAll(/\b(EDGE_AUTH_[A-Z0-9_]+): '(SUPABASE_[A-Z0-9_]+)'/g)) {
    names.add(match[2]!)
  }
  // Any other variable name written in config.ts must be one of those: otherwise it is read
  // through a pattern this test does not know, and would escape the check below.
  for (const match of source.matchAll(/'((?:SUPABASE|EDGE_AUTH)_[A-Z0-9_]+)'/g)) {
    assert(names.has(match[1]!), `config.ts names ${match[1]} but no read('…') of it was found`)
  }
  return [...names].sort()
}

Deno.test('every environment variable config.ts reads is in the README Configuration table', () => {
  const table = tableRows(section(readme(), 'Configuration'))
  const mentioned = new Set(table.flatMap((row) => row.flatMap(codeSpans)))
  const read = variablesRead()
  assert(read.length >= 10, `config.ts reads its variables through read(): found ${read}`)
  assertEquals(read.filter((name) => !mentioned.has(name)), [], 'read but not documented')
})

Deno.test('every variable the README Configuration table lists in its first column is read by config.ts', () => {
  const table = tableRows(section(readme(), 'Configuration'))
  const listed = table.map((row) => codeSpans(row[0] ?? '')[0] ?? '').filter(Boolean)
  const read = new Set(variablesRead())
  assertEquals(listed.filter((name) => !read.has(name)), [], 'documented but not read')
})
