// The SQL the package needs, on its own, as a user installs it: the package's migrations (every
// file of supabase/migrations/ but the demo's `notes` ones) copied into a project folder of their
// own and applied with the real Supabase CLI's `db push`, to a fresh database set up like a
// Supabase project's (its roles, grants and default privileges, and the auth schema made by the
// real auth server's own migrations). Each file applies without the demo's table; the session
// functions exist with the grants the privileges test allows (EXECUTE for service_role alone),
// the revocation log is no API role's, and the functions work there: sessions of generated users
// end and the feed reports them.
import { assert, assertEquals, assertMatch, assertRejects } from '@std/assert'
import fc from 'fast-check'
import postgres from 'postgres'
import { join } from 'node:path'
import { repoRoot } from '../../supabase/local/paths.ts'
import { withAdmin } from '../_helpers/db_faults.ts'
import {
  dbPush,
  isDemoMigration,
  migrationFiles,
  migrationsDir,
} from '../_helpers/package_migrations.ts'
import { prepareAsSupabaseProject, withScratchDatabase } from '../_helpers/scratch_database.ts'
import { hasAuthServer, testStack } from '../_helpers/stack.ts'

const packageMigrations = migrationFiles().filter((file) => !isDemoMigration(file))

/** What the package leaves callable, and by whom: service_role alone, never the API's callers. */
const packageFunctions = {
  'public.auth_session_state(uuid, uuid)': 'service_role',
  'public.auth_session_lookup(uuid, uuid)': 'service_role',
  'public.auth_end_sessions(uuid, uuid, text)': 'service_role',
  'public.auth_revoke_user_sessions(uuid)': 'service_role',
  'public.auth_revocations_since(xid8, integer)': 'service_role',
  'edge_auth.log_ended_sessions()': null,
  'edge_auth.log_user_revocation()': null,
} as const

const ROLES = ['anon', 'authenticated', 'service_role', 'authenticator'] as const

/** The triggers the revocation feed puts on the auth server's tables. */
const packageTriggers = [
  'auth.sessions edge_auth_log_ended_sessions',
  'auth.users edge_auth_log_user_delete',
  'auth.users edge_auth_log_user_update',
]

/** The one row of a query's answer. */
function only<T>(rows: readonly T[]): T {
  assertEquals(rows.length, 1)
  return rows[0]!
}

/** A call as an API role with generated arguments: each must be refused with 42501. */
const callsOf = {
  'public.auth_session_state(uuid, uuid)': (a: string, b: string) =>
    `select public.auth_session_state('${a}', '${b}')`,
  'public.auth_session_lookup(uuid, uuid)': (a: string, b: string) =>
    `select * from public.auth_session_lookup('${a}', '${b}')`,
  'public.auth_end_sessions(uuid, uuid, text)': (a: string, b: string) =>
    `select public.auth_end_sessions('${a}', '${b}', 'global')`,
  'public.auth_revoke_user_sessions(uuid)': (a: string) =>
    `select public.auth_revoke_user_sessions('${a}')`,
  'public.auth_revocations_since(xid8, integer)': () =>
    'select public.auth_revocations_since(null, null)',
}

/** A user's project folder: the repository's config.toml and the package's migrations only. */
async function userProject(): Promise<string> {
  const workdir = await Deno.makeTempDir({ prefix: 'edge-auth-package-sql-' })
  await Deno.mkdir(join(workdir, 'supabase', 'migrations'), { recursive: true })
  await Deno.copyFile(
    join(repoRoot, 'supabase', 'config.toml'),
    join(workdir, 'supabase', 'config.toml'),
  )
  for (const file of packageMigrations) {
    await Deno.copyFile(join(migrationsDir, file), join(workdir, 'supabase', 'migrations', file))
  }
  return workdir
}

Deno.test('supabase/README.md describes every migration file', () => {
  const readme = Deno.readTextFileSync(join(repoRoot, 'supabase', 'README.md'))
  for (const file of migrationFiles()) assert(readme.includes(file), `${file} is not described`)
})

Deno.test({
  name:
    "supabase db push applies the package's migrations alone to a fresh project database: no notes table, session functions callable by service_role only, sessions end and the feed reports them",
  ignore: !hasAuthServer,
  async fn() {
    assert(packageMigrations.length > 0)
    assert(migrationFiles().some(isDemoMigration), 'the demo notes migration is left out')
    const workdir = await userProject()
    try {
      await withAdmin(testStack(), (admin) =>
        withScratchDatabase(
          admin,
          'edge_auth_package_sql',
          (url, db) => pushAndCheck(workdir, url, db),
        ))
    } finally {
      await Deno.remove(workdir, { recursive: true })
    }
  },
})

/**
 * Pushes the project at `workdir` to the fresh database at `url` (a dry run, then for real, then
 * once more) and checks what the package's migrations made there, through `db`.
 */
async function pushAndCheck(workdir: string, url: string, db: postgres.Sql): Promise<void> {
  await prepareAsSupabaseProject(url)

  // A dry run names every file and applies none.
  const dry = await dbPush(workdir, url, '--dry-run')
  for (const file of packageMigrations) assert(dry.includes(file), `dry run: ${file}`)
  const history = async () => {
    const { exists } = only(
      await db`select to_regclass('supabase_migrations.schema_migrations') is not null
                       as exists`,
    )
    if (!exists) return []
    const rows = await db`select version from supabase_migrations.schema_migrations`
    return rows.map((row) => row.version as string).sort()
  }
  assertEquals(await history(), [])

  const pushed = await dbPush(workdir, url)
  for (const file of packageMigrations) {
    assert(
      pushed.includes(`Applying migration ${file}...`),
      `${file} applied:\n${pushed}`,
    )
  }
  assertEquals(await history(), packageMigrations.map((file) => file.split('_')[0]!))
  assertMatch(await dbPush(workdir, url), /Remote database is up to date/)

  // Nothing of the demo, and in the package's schemas nothing but the package's functions.
  const { notes } = only(await db`select to_regclass('public.notes') as notes`)
  assertEquals(notes, null)
  const functions = await db<{ name: string; config: string[] }[]>`
          select format('%s.%s(%s)', n.nspname, p.proname,
                   pg_catalog.oidvectortypes(p.proargtypes)) as name,
                 p.proconfig as config
          from pg_catalog.pg_proc as p
          join pg_catalog.pg_namespace as n on n.oid = p.pronamespace
          where n.nspname in ('public', 'edge_auth')
          order by 1`
  assertEquals(functions.map((f) => f.name), Object.keys(packageFunctions).sort())
  for (const { name, config } of functions) {
    assert(config.includes('search_path=""'), `${name}: empty search_path`)
  }

  for (const [name, allowed] of Object.entries(packageFunctions)) {
    for (const role of ROLES) {
      const { may } = only(
        await db`
              select pg_catalog.has_function_privilege(${role}, ${name}::regprocedure,
                'EXECUTE') as may`,
      )
      assertEquals(may, role === allowed, `${role} EXECUTE on ${name}`)
    }
  }
  for (const role of ROLES) {
    const rights = only(
      await db`
            select pg_catalog.has_schema_privilege(${role}, 'edge_auth', 'USAGE') as schema,
                   pg_catalog.has_table_privilege(${role}, 'edge_auth.revocations',
                     'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER') as log,
                   pg_catalog.has_sequence_privilege(${role}, 'edge_auth.revocations_id_seq',
                     'USAGE, SELECT, UPDATE') as sequence`,
    )
    assertEquals(rights, { schema: false, log: false, sequence: false }, role)
  }
  const { rls } = only(
    await db`
          select relrowsecurity as rls from pg_catalog.pg_class
          where oid = 'edge_auth.revocations'::regclass`,
  )
  assertEquals(rls, true)
  const triggers = await db`
          select format('%s %s', tgrelid::regclass, tgname) as name from pg_catalog.pg_trigger
          where not tgisinternal and tgname like 'edge_auth%' order by 1`
  assertEquals(triggers.map((t) => t.name), packageTriggers)

  // The API's callers are refused, whatever the arguments.
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('anon', 'authenticated', 'authenticator'),
      fc.constantFrom(...Object.values(callsOf)),
      fc.uuid(),
      fc.uuid(),
      async (role, call, a, b) => {
        await assertRejects(
          () =>
            db.begin(async (tx) => {
              await tx.unsafe(`set local role ${role}`)
              await tx.unsafe(call(a, b))
            }),
          postgres.PostgresError,
          'permission denied',
        )
      },
    ),
    { numRuns: 30 },
  )

  // service_role (server code) ends sessions; the feed reports each ended one.
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }),
      fc.constantFrom('global', 'local', 'others'),
      async (count, scope) => {
        const userId = crypto.randomUUID()
        const sessions: string[] = Array.from(
          { length: count },
          () => crypto.randomUUID(),
        ).sort()
        await db`insert into auth.users (id, aud, role) values
                (${userId}, 'authenticated', 'authenticated')`
        for (const id of sessions) {
          await db`insert into auth.sessions (id, user_id) values (${id}, ${userId})`
        }
        const own = sessions[0]!
        const ended = sessions.filter((id) =>
          scope === 'global' || (scope === 'local' ? id === own : id !== own)
        )
        const result = await db.begin(async (tx) => {
          await tx`set local role service_role`
          const { state } = only(
            await tx`
                  select public.auth_session_state(${own}, ${userId}) as state`,
          )
          const { start } = only(
            await tx`
                  select public.auth_revocations_since(null, null) ->> 'watermark' as start`,
          )
          const { count } = only(
            await tx`
                  select public.auth_end_sessions(${userId}, ${own}, ${scope}) as count`,
          )
          const { after } = only(
            await tx`
                  select public.auth_session_state(${own}, ${userId}) as after`,
          )
          const { feed } = only(
            await tx`
                  select public.auth_revocations_since(${start}::xid8, null) as feed`,
          )
          return { state, count, after, feed }
        })
        assertEquals(result.state, 'live')
        assertEquals(result.count, ended.length)
        assertEquals(result.after, ended.includes(own) ? 'gone' : 'live')
        const reported = (result.feed.entries as { session_id: string; reason: string }[])
          .filter((entry) => sessions.includes(entry.session_id))
        assertEquals(
          reported.map((entry) => `${entry.session_id} ${entry.reason}`).sort(),
          ended.map((id) => `${id} session_ended`),
        )
      },
    ),
    { numRuns: 12 },
  )
}
