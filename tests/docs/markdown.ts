/**
 * Just enough Markdown for the docs tests: the README's sections, fenced code blocks and tables.
 *
 * @module
 */
import { join } from 'node:path'
import { repoRoot } from '../../supabase/local/paths.ts'

/** A fenced code block. */
export interface Fence {
  /** The info string's first word (`sh`, `text`, …), empty when none. */
  lang: string
  body: string
}

/**
 * The README, read afresh.
 *
 * @returns its text
 */
export function readme(): string {
  return Deno.readTextFileSync(join(repoRoot, 'README.md'))
}

/** Options for {@linkcode section}. */
export interface SectionOptions {
  /** Stop at the first heading of any level, leaving the section's subsections out. */
  withoutSubsections?: boolean
}

/**
 * The body of the section with this exact heading, up to the next heading of the same or a
 * higher level (or of any level, with `withoutSubsections`), ignoring `#` lines in code blocks.
 *
 * @param markdown the document
 * @param heading the heading text without the hashes
 * @param options where the section ends
 * @returns the section's body
 * @throws Error when no such heading exists
 */
export function section(
  markdown: string,
  heading: string,
  options: SectionOptions = {},
): string {
  const lines = markdown.split('\n')
  let start = -1
  let level = 0
  let inFence = false
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (/^(```|~~~)/.test(line)) inFence = !inFence
    if (inFence) continue
    const match = /^(#{1,6})\s+(.*?)\s*$/.exec(line)
    if (!match) continue
    if (start === -1) {
      if (match[2] === heading) {
        start = i + 1
        level = match[1]!.length
      }
    } else if (options.withoutSubsections || match[1]!.length <= level) {
      return lines.slice(start, i).join('\n')
    }
  }
  if (start === -1) throw new Error(`The README has no section "${heading}"`)
  return lines.slice(start).join('\n')
}

/**
 * The fenced code blocks of a text, in order.
 *
 * @param text Markdown
 * @returns the blocks
 */
export function fences(text: string): Fence[] {
  const blocks: Fence[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const open = /^(```+|~~~+)\s*([^\s`]*)/.exec(lines[i]!)
    if (!open) continue
    const marker = open[1]!
    const body: string[] = []
    let j = i + 1
    while (j < lines.length && !lines[j]!.startsWith(marker)) body.push(lines[j++]!)
    blocks.push({ lang: open[2] ?? '', body: body.join('\n') })
    i = j
  }
  return blocks
}

/**
 * The body rows of the first table in a text, cells trimmed (header and separator skipped).
 * Escaped pipes (`\|`) stay inside their cell.
 *
 * @param text Markdown
 * @returns the rows
 * @throws Error when the text has no table
 */
export function tableRows(text: string): string[][] {
  const lines = text.split('\n')
  const start = lines.findIndex((line, i) =>
    line.trim().startsWith('|') && /^\s*\|?\s*:?-{3,}/.test(lines[i + 1] ?? '')
  )
  if (start === -1) throw new Error('No table found')
  const rows: string[][] = []
  for (const line of lines.slice(start + 2)) {
    if (!line.trim().startsWith('|')) break
    const cells = line.trim().replace(/^\|/, '').replace(/\|$/, '').split(/(?<!\\)\|/)
    rows.push(cells.map((cell) => cell.trim()))
  }
  return rows
}

/**
 * The inline-code spans of a Markdown cell: `` `login` `` gives `login`.
 *
 * @param cell a table cell
 * @returns the spans' contents
 */
export function codeSpans(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]!)
}
