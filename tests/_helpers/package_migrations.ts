/**
 * The package's SQL as a user's project holds it: the migration files of `supabase/migrations/`
 * but the demo's, and `supabase db push` of a project folder to a database URL with the real CLI.
 *
 * @module
 */
import { assertEquals } from '@std/assert'
import { join } from 'node:path'
import { repoRoot } from '../../supabase/local/paths.ts'
import { runSupabaseCli } from '../../supabase/local/supabase_cli.ts'

/** The repository's migrations folder. */
export const migrationsDir: string = join(repoRoot, 'supabase', 'migrations')

/**
 * The demo `notes` function's migrations are named after it; every other file is the package's.
 *
 * @param file a migration file's name
 * @returns whether it is the demo's
 */
export function isDemoMigration(file: string): boolean {
  return /^\d+_notes[_.]/.test(file)
}

/**
 * @returns the migration files' names, in the order the CLI applies them
 */
export function migrationFiles(): string[] {
  return [...Deno.readDirSync(migrationsDir)]
    .filter((entry) => entry.isFile && /^\d+_.+\.sql$/.test(entry.name))
    .map((entry) => entry.name)
    .sort()
}

/**
 * Runs `supabase db push --remote=<url> --yes [more]` in a project folder, `sslmode=disable` on
 * the URL, and fails on a non-zero exit.
 *
 * @param workdir the folder holding `supabase/`
 * @param url the database
 * @param more further flags, e.g. `--dry-run`
 * @returns the CLI's output, stdout then stderr
 */
export async function dbPush(workdir: string, url: string, ...more: string[]): Promise<string> {
  const remote = new URL(url)
  remote.searchParams.set('sslmode', 'disable')
  const run = await runSupabaseCli(['db', 'push', `--remote=${remote.href}`, '--yes', ...more], {
    workdir,
  })
  const output = run.stdout + run.stderr
  assertEquals(run.code, 0, `supabase db push ${more.join(' ')} failed:\n${output}`)
  return output
}
