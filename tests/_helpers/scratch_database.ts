/**
 * A database of the stack's PostgreSQL made for one case and dropped after it, for what must run
 * on a database of its own (the bootstrap after drift, migrations without the auth schema).
 *
 * @module
 */
import postgres from 'postgres'
import { testStack } from './stack.ts'
import { bootstrapDatabase } from '../../supabase/local/bootstrap.ts'
import { runCommand } from '../../supabase/local/processes.ts'

/**
 * Creates a database named `<prefix>_<random>` through `admin`, runs `work` with its URL and a
 * one-connection client of it, then closes the client and drops the database.
 *
 * @param admin a superuser client of the stack's PostgreSQL
 * @param prefix the start of the database's name
 * @param work what to run on it
 * @returns what `work` returns
 */
export async function withScratchDatabase<T>(
  admin: postgres.Sql,
  prefix: string,
  work: (url: string, db: postgres.Sql) => Promise<T>,
): Promise<T> {
  const name = `${prefix}_${crypto.randomUUID().replaceAll('-', '')}`
  await admin.unsafe(`create database ${name}`)
  const url = new URL(testStack().dbUrl)
  url.pathname = `/${name}`
  const db = postgres(url.href, { max: 1, onnotice: () => {} })
  try {
    return await work(url.href, db)
  } finally {
    await db.end()
    await admin.unsafe(`drop database ${name}`)
  }
}

/**
 * Gives the scratch database what a Supabase project's database has before its first migration:
 * the stack's bootstrap, then the pinned auth server's own migrations (`auth migrate`, the binary
 * the stack runs), logged in as the superuser acting as `supabase_auth_admin`, so that the auth
 * schema's objects have the owner they have on a project.
 */
export async function prepareAsSupabaseProject(url: string): Promise<void> {
  await bootstrapDatabase(url)
  const pid = testStack().pids.auth
  if (pid === null) throw new Error('The stack runs no auth server')
  const binary = Deno.readLinkSync(`/proc/${pid}/exe`)
  const { username, password, host, pathname } = new URL(url)
  const options = encodeURIComponent('-c role=supabase_auth_admin -c search_path=auth')
  const dbUrl = `postgres://${username}:${password}@${host}${pathname}?sslmode=disable` +
    `&options=${options}`
  const home = await Deno.makeTempDir({ prefix: 'edge-auth-auth-migrate-' })
  try {
    const result = await runCommand(binary, ['migrate'], {
      clearEnv: true,
      cwd: home,
      env: {
        PATH: Deno.env.get('PATH') ?? '/usr/bin:/bin',
        HOME: home,
        GOTRUE_DB_DRIVER: 'postgres',
        GOTRUE_DB_DATABASE_URL: dbUrl,
        // Required settings of the server, unused by `migrate`.
        GOTRUE_JWT_SECRET: crypto.randomUUID() + crypto.randomUUID(),
        GOTRUE_SITE_URL: 'http://127.0.0.1:3000',
        API_EXTERNAL_URL: 'http://127.0.0.1:54321/auth/v1',
      },
    })
    if (result.code !== 0) {
      throw new Error(`auth migrate failed (${result.code}): ${result.stdout}${result.stderr}`)
    }
  } finally {
    await Deno.remove(home, { recursive: true })
  }
}
