// The README's links and headline numbers: every relative link of README.md and
// tests/bench/README.md leads to a file (and a `#fragment` to a heading of it), and every ratio the
// README quotes from the benchmarks is one that tests/bench/README.md reports.
import { assert, assertEquals } from '@std/assert'
import { dirname, join, relative } from 'node:path'
import { repoRoot } from '../../supabase/local/paths.ts'
import { readme, section, tableRows } from './markdown.ts'

const benchReadme = join(repoRoot, 'tests', 'bench', 'README.md')

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-')
}

/** The anchors of a Markdown file's headings, outside code blocks. */
function anchors(markdown: string): Set<string> {
  const found = new Set<string>()
  let inFence = false
  for (const line of markdown.split('\n')) {
    if (/^(```|~~~)/.test(line)) inFence = !inFence
    const heading = /^#{1,6}\s+(.*?)\s*$/.exec(line)
    if (!inFence && heading) found.add(slug(heading[1]!))
  }
  return found
}

/** `[text](target)` links outside code blocks and code spans. */
function links(markdown: string): string[] {
  const prose = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(
    /`[^`]*`/g,
    '',
  )
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!)
}

for (const file of [join(repoRoot, 'README.md'), benchReadme]) {
  const name = relative(repoRoot, file)
  Deno.test(`${name}: every relative link leads to a file, every #fragment to a heading`, () => {
    const text = Deno.readTextFileSync(file)
    const targets = links(text).filter((target) => !/^[a-z]+:/.test(target))
    assert(targets.length > 0, `${name} has relative links`)
    for (const target of targets) {
      const [path, fragment] = target.split('#') as [string, string | undefined]
      const linked = path === '' ? file : join(dirname(file), path)
      const body = Deno.readTextFileSync(linked) // throws when the file is missing
      if (fragment) assert(anchors(body).has(fragment), `${target}: no heading #${fragment}`)
    }
  })
}

/** The `measured` column of the bench README's targets table, as numbers. */
function measuredRatios(): number[] {
  const bench = Deno.readTextFileSync(benchReadme)
  const table = bench.slice(bench.indexOf('| target'))
  return tableRows(table).map((row) => Number.parseFloat(row[1] ?? ''))
}

Deno.test('the ratios the README quotes are the ones tests/bench/README.md measured', () => {
  const measured = measuredRatios()
  assert(measured.length >= 5 && measured.every(Number.isFinite), `targets table: ${measured}`)
  const text = readme()
  const exact = [...section(text, 'Performance').matchAll(/(\d+(?:\.\d+)?)×/g)].map((m) => m[1]!)
  assert(exact.length >= 3, 'the Performance section quotes ratios')
  assertEquals(exact.filter((ratio) => !measured.includes(Number(ratio))), [], 'not measured')
  const rounded = [...text.matchAll(/\*\*(\d+)×\*\*/g)].map((m) => Number(m[1]))
  assert(rounded.length >= 2, 'the introduction quotes rounded ratios')
  const roundedMeasured = measured.map((ratio) => Math.round(ratio))
  assertEquals(rounded.filter((ratio) => !roundedMeasured.includes(ratio)), [], 'not measured')
})
