/**
 * The repository's functions: the folders of `functions/` but `_shared` and other `_` or `.`
 * folders.
 *
 * @module
 */
import { join } from 'node:path'
import { repoRoot } from '../../supabase/local/paths.ts'

/**
 * @returns the function names, sorted
 */
export function functionNames(): string[] {
  return [...Deno.readDirSync(join(repoRoot, 'functions'))]
    .filter((entry) => entry.isDirectory && !/^[_.]/.test(entry.name))
    .map((entry) => entry.name)
    .sort()
}
