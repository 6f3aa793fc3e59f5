// The local stack's migration runner (the real Supabase CLI's `migration up`) on the real
// PostgreSQL, in a database of its own (the auth schema is per database, so this one has none):
// without the auth server, a migration that needs the auth schema stays pending, and so does every
// later one, whatever it needs, so that the files still apply in order once the auth schema
// exists. The CLI records them in the history table hosted projects use.
import { assertEquals, assertRejects } from '@std/assert'
import fc from 'fast-check'
import postgres from 'postgres'
import { join } from 'node:path'
import { applyMigrations } from '../../supabase/local/migrations.ts'
import { repoRoot } from '../../supabase/local/paths.ts'
import { withScratchDatabase } from '../_helpers/scratch_database.ts'
import { testStack } from '../_helpers/stack.ts'

/** Migration files whose statements need nothing; one of them, at `authAt`, needs auth.sessions. */
function migrationFiles(count: number, authAt: number): Record<string, string> {
  const files: Record<string, string> = {}
  for (let i = 0; i < count; i++) {
    const version = String(20260101000000 + i * 100)
    files[`${version}_step_${i}.sql`] = i === authAt
      ? `create function public.step_${i}() returns bigint language sql
           as 'select count(*) from auth.sessions';`
      : `create table public.step_${i} (id int);`
  }
  return files
}

Deno.test('without the auth schema, the first migration needing it and every later one stay pending; with it, all apply in order', async () => {
  const admin = postgres(testStack().dbUrl, { max: 1, onnotice: () => {} })
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }).chain((count) =>
          fc.tuple(fc.constant(count), fc.integer({ min: 0, max: count - 1 }))
        ),
        async ([count, authAt]) => {
          const workdir = await Deno.makeTempDir({ prefix: 'edge-auth-migrations-' })
          const dir = join(workdir, 'supabase', 'migrations')
          await Deno.mkdir(dir, { recursive: true })
          await Deno.copyFile(
            join(repoRoot, 'supabase', 'config.toml'),
            join(workdir, 'supabase', 'config.toml'),
          )
          try {
            await withScratchDatabase(admin, 'edge_auth_migrations', async (url, db) => {
              const files = migrationFiles(count, authAt)
              for (const [file, text] of Object.entries(files)) {
                await Deno.writeTextFile(join(dir, file), text)
              }
              const names = Object.keys(files).sort()
              const log = () => {}

              const degraded = await applyMigrations(url, workdir, {
                tolerateMissingAuth: true,
                log,
              })
              assertEquals(degraded.applied, names.slice(0, authAt))
              assertEquals(degraded.skipped.map((s) => s.file), names.slice(authAt))
              const recorded = async () =>
                (await db`select name from supabase_migrations.schema_migrations order by version`)
                  .map((row) => row.name)
              assertEquals(await recorded(), names.slice(0, authAt).map(stepName))

              // Without the tolerance the start fails, naming the file.
              await assertRejects(
                () => applyMigrations(url, workdir, { tolerateMissingAuth: false, log }),
                Error,
                `Migration ${names[authAt]} failed`,
              )

              await db.unsafe('create schema auth; create table auth.sessions (id uuid)')
              const full = await applyMigrations(url, workdir, {
                tolerateMissingAuth: true,
                log,
              })
              assertEquals(full.applied, names.slice(authAt))
              assertEquals(full.skipped, [])
              assertEquals(full.previously, authAt)
              assertEquals(await recorded(), names.map(stepName))
            })
          } finally {
            await Deno.remove(workdir, { recursive: true })
          }
        },
      ),
      { numRuns: 5 },
    )
  } finally {
    await admin.end()
  }
})

function stepName(file: string): string {
  return file.replace(/^\d+_/, '').replace(/\.sql$/, '')
}
