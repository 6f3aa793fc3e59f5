/**
 * Applies the project's `supabase/migrations/*.sql` with the Supabase CLI itself
 * (`supabase migration up --remote=<database URL> --yes`), so the local stack migrates exactly as
 * `supabase db push` migrates a hosted project: same file rules, same history table
 * (`supabase_migrations.schema_migrations`), and a migration the CLI would refuse fails here first.
 * It runs after the auth server's own migrations (project SQL may refer to `auth.sessions` or
 * `auth.uid()`).
 *
 * @module
 */
import postgres from 'postgres'
import { join } from 'node:path'
import { runSupabaseCli } from './supabase_cli.ts'

/** What {@linkcode applyMigrations} did. */
export interface MigrationReport {
  /** Files applied by this run. */
  applied: string[]
  /**
   * Files left pending because the auth schema is missing, and every file after the first of
   * them (degraded stack only).
   */
  skipped: { file: string; reason: string }[]
  /** Files applied by earlier runs. */
  previously: number
}

/** Options for {@linkcode applyMigrations}. */
export interface ApplyMigrationsOptions {
  /**
   * Without an auth server the `auth` schema does not exist: leave pending the first file that
   * fails because of that, and every later one, instead of failing the start.
   */
  tolerateMissingAuth: boolean
  log: (message: string) => void
}

/** What the CLI counts as a migration: `<version>_<name>.sql`. */
const migrationFile = /^(\d+)_(.+)\.sql$/
/** undefined schema, table, function, object: what SQL that needs auth.* raises without it. */
const missingAuth = /\bauth\b.*\(SQLSTATE (3F000|42P01|42883|42704)\)/

/**
 * Applies pending migrations with the Supabase CLI.
 *
 * @param dbUrl superuser connection URL (no TLS: a local cluster)
 * @param workdir the folder holding `supabase/config.toml` and `supabase/migrations/`
 * @param options degraded-mode tolerance and a logger
 * @returns the files applied and skipped
 * @throws Error with the CLI's own message when a migration fails
 */
export async function applyMigrations(
  dbUrl: string,
  workdir: string,
  options: ApplyMigrationsOptions,
): Promise<MigrationReport> {
  const files = listMigrations(join(workdir, 'supabase', 'migrations'), options.log)
  const before = await appliedVersions(dbUrl)
  const url = new URL(dbUrl)
  url.searchParams.set('sslmode', 'disable')
  const run = await runSupabaseCli(['migration', 'up', `--remote=${url.href}`, '--yes'], {
    workdir,
  })
  const after = await appliedVersions(dbUrl)
  const report: MigrationReport = {
    applied: files.filter((f) => after.has(f.version) && !before.has(f.version)).map((f) => f.file),
    skipped: [],
    previously: files.filter((f) => before.has(f.version)).length,
  }
  if (run.code === 0) return report
  const error = cliError(run.stdout + run.stderr)
  const pending = files.filter((f) => !after.has(f.version))
  if (options.tolerateMissingAuth && missingAuth.test(error) && pending.length > 0) {
    const [first, ...later] = pending
    report.skipped.push({ file: first!.file, reason: error })
    for (const { file } of later) {
      report.skipped.push({ file, reason: `it comes after ${first!.file}, also pending` })
    }
    return report
  }
  const failed = pending[0]?.file
  throw new Error(`Migration ${failed ?? ''} failed (supabase migration up): ${error}`.trim())
}

/** The versions the history table records; none before the first run. */
async function appliedVersions(dbUrl: string): Promise<Set<string>> {
  const sql = postgres(dbUrl, { max: 1, onnotice: () => {} })
  try {
    const [table] = await sql<{ exists: boolean }[]>`
      select to_regclass('supabase_migrations.schema_migrations') is not null as exists`
    if (!table?.exists) return new Set()
    const rows = await sql<{ version: string }[]>`
      select version from supabase_migrations.schema_migrations`
    return new Set(rows.map((row) => row.version))
  } finally {
    await sql.end()
  }
}

/** The CLI's error lines (from the first `ERROR`), without its progress and hints. */
function cliError(output: string): string {
  const lines = output.split('\n').map((line) => line.trim()).filter(Boolean)
  const start = lines.findIndex((line) => /^ERROR\b|failed|error:/i.test(line))
  const relevant = (start === -1 ? lines.slice(-3) : lines.slice(start))
    .filter((line) => !/^Try rerunning|^▲|^│/.test(line))
  return relevant.join(' ').slice(0, 2000)
}

function listMigrations(dir: string, log: (message: string) => void) {
  let names: string[]
  try {
    names = [...Deno.readDirSync(dir)].filter((e) => e.isFile).map((e) => e.name)
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return []
    throw err
  }
  const migrations = []
  for (const file of names.sort()) {
    const match = migrationFile.exec(file)
    if (!match) {
      // The CLI skips such files too; say so, since a misnamed migration never runs.
      if (file.endsWith('.sql')) log(`skipping ${file}: not named <version>_<name>.sql`)
      continue
    }
    migrations.push({ file, version: match[1]!, name: match[2]! })
  }
  return migrations
}
