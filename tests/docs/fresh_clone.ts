/**
 * A copy of what a fresh clone of the repository holds (the tracked and not-ignored files of the
 * working tree, nothing under `.local/`), for the docs tests that follow the README as a new user.
 *
 * @module
 */
import { assertEquals } from '@std/assert'
import { join } from 'node:path'
import { repoRoot } from '../../supabase/local/paths.ts'
import { runCommand } from '../../supabase/local/processes.ts'

/**
 * Copies the files a fresh clone would have into a new temporary folder.
 *
 * @returns the folder; the caller removes it
 */
export async function freshClone(): Promise<string> {
  const listed = await runCommand('git', [
    '-C',
    repoRoot,
    'ls-files',
    '-z',
    '--cached',
    '--others',
    '--exclude-standard',
  ])
  assertEquals(listed.code, 0, listed.stderr)
  const dir = await Deno.makeTempDir({ prefix: 'edge-auth-clone-' })
  for (const file of listed.stdout.split('\0').filter(Boolean)) {
    const from = join(repoRoot, file)
    try {
      if (!Deno.statSync(from).isFile) continue
    } catch {
      continue // deleted in the working tree
    }
    await Deno.mkdir(join(dir, file, '..'), { recursive: true })
    await Deno.copyFile(from, join(dir, file))
  }
  return dir
}
