/**
 * Applies the project's `supabase/migrations/*.sql` in filename order, once each, recorded in
 * `supabase_migrations.schema_migrations` like the Supabase CLI does. Each file runs in its own
 * transaction as the superuser, after the auth server's own migrations (project SQL may refer to
 * `auth.sessions` or `auth.uid()`).
 *
 * @module
 */
import postgres from 'postgres'
import { join } from 'node:path'

/** What {@linkcode applyMigrations} did. */
export interface MigrationReport {
  /** Files applied by this run. */
  applied: string[]
  /** Files left pending because the auth schema is missing (degraded stack only). */
  skipped: { file: string; reason: string }[]
  /** Files applied by earlier runs. */
  previously: number
}

/** Options for {@linkcode applyMigrations}. */
export interface ApplyMigrationsOptions {
  /**
   * Without an auth server the `auth` schema does not exist: skip (and leave pending) the files
   * that fail because of that, instead of failing the start.
   */
  tolerateMissingAuth: boolean
  log: (message: string) => void
}

const migrationFile = /^(\d+)_(.+)\.sql$/
/** undefined schema, table, function, object: what SQL that needs auth.* raises without it. */
const missingObjectCodes = new Set(['3F000', '42P01', '42883', '42704'])

/**
 * Applies pending migrations.
 *
 * @param dbUrl superuser connection URL
 * @param dir the migrations directory
 * @param options degraded-mode tolerance and a logger
 * @returns the files applied and skipped
 * @throws Error naming the file and the database error when a migration fails
 */
export async function applyMigrations(
  dbUrl: string,
  dir: string,
  options: ApplyMigrationsOptions,
): Promise<MigrationReport> {
  const files = listMigrations(dir, options.log)
  const report: MigrationReport = { applied: [], skipped: [], previously: 0 }
  const sql = postgres(dbUrl, { max: 1, onnotice: () => {} })
  try {
    await sql.unsafe(`
      create schema if not exists supabase_migrations;
      create table if not exists supabase_migrations.schema_migrations (
        version text primary key,
        name text,
        applied_at timestamptz not null default now()
      );`)
    const done = new Set(
      (await sql<{ version: string }[]>`select version from supabase_migrations.schema_migrations`)
        .map((row) => row.version),
    )
    for (const { file, version, name } of files) {
      if (done.has(version)) {
        report.previously++
        continue
      }
      const text = await Deno.readTextFile(join(dir, file))
      try {
        await sql.begin(async (tx) => {
          // No parameters: postgres.js sends it as a simple query, so a file may hold many
          // statements, DO blocks and dollar quoting.
          await tx.unsafe(text)
          await tx`
            insert into supabase_migrations.schema_migrations (version, name)
            values (${version}, ${name})`
        })
        report.applied.push(file)
      } catch (err) {
        const { code, message } = err as { code?: string; message: string }
        if (
          options.tolerateMissingAuth && code && missingObjectCodes.has(code) &&
          /\bauth\b/.test(message)
        ) {
          report.skipped.push({ file, reason: message })
          continue
        }
        throw new Error(`Migration ${file} failed: ${message}${code ? ` (SQLSTATE ${code})` : ''}`)
      }
    }
  } finally {
    await sql.end()
  }
  return report
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
      // Same rule as the Supabase CLI: files not named <version>_<name>.sql are not migrations.
      if (file.endsWith('.sql')) log(`skipping ${file}: not named <version>_<name>.sql`)
      continue
    }
    migrations.push({ file, version: match[1]!, name: match[2]! })
  }
  return migrations
}
