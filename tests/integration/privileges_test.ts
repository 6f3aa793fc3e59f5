// What the Data API's roles may do with the project's database objects, on the real PostgreSQL
// after every migration ran under a Supabase project's default privileges (the local stack's
// bootstrap sets them, as a hosted project has them): every function, table, view, materialized
// view, sequence and schema in the schemas the migrations create objects in is compared with the
// allow-list below, for anon, authenticated, service_role and authenticator (with every role it
// may switch to). An object the list does not name fails the test, so a new migration cannot
// hand an object to the publishable key unnoticed. Then every SECURITY DEFINER function is called
// as each API role with generated arguments, the real ids of a signed-in user among them.
import { assert, assertEquals, assertMatch, assertRejects } from '@std/assert'
import fc from 'fast-check'
import { decodeJwt } from 'jose'
import postgres from 'postgres'
import { join } from 'node:path'
import { repoRoot } from '../../supabase/local/paths.ts'
import {
  createTestUser,
  hasAuthServer,
  signInWithSupabaseJs,
  testStack,
} from '../_helpers/stack.ts'

const ignore = !hasAuthServer

/** The role the migrations run as, on a hosted project and in the local stack. */
const MIGRATION_ROLE = 'postgres'
/** The roles PostgREST works with: its login role and the three it switches to. */
const API_ROLES = ['anon', 'authenticated', 'service_role'] as const
const ROLES = [...API_ROLES, 'authenticator'] as const
type ApiRole = (typeof API_ROLES)[number]
type Role = (typeof ROLES)[number]

/** Every privilege of the object's kind, whatever the server version has (MAINTAIN since 17). */
const ALL = 'ALL'
type Allowed = Partial<Record<ApiRole, readonly string[] | typeof ALL>>

/**
 * What each API role may do, per object; a role left out may do nothing. `authenticator` may do
 * what any of the three may (it can switch to each), nothing more. Keys: `<kind> <name>`, with a
 * function's argument types.
 */
const allowList: Record<string, Allowed> = {
  'schema public': { anon: ['USAGE'], authenticated: ['USAGE'], service_role: ['USAGE'] },
  'schema edge_auth': {},
  // The migration history (the Supabase CLI's, and the local stack's).
  'schema supabase_migrations': {},
  'table supabase_migrations.schema_migrations': {},

  // Server code only: they act on any user's sessions with the owner's rights.
  'function public.auth_session_state(uuid, uuid)': { service_role: ['EXECUTE'] },
  'function public.auth_session_lookup(uuid, uuid)': { service_role: ['EXECUTE'] },
  'function public.auth_end_sessions(uuid, uuid, text)': { service_role: ['EXECUTE'] },
  'function public.auth_revoke_user_sessions(uuid)': { service_role: ['EXECUTE'] },
  'function public.auth_revocations_since(xid8, integer)': { service_role: ['EXECUTE'] },
  // Trigger functions: nobody calls them.
  'function edge_auth.log_ended_sessions()': {},
  'function edge_auth.log_user_revocation()': {},
  'table edge_auth.revocations': {},
  'sequence edge_auth.revocations_id_seq': {},

  // RLS decides the rows; a signed-in user needs no more than the notes function does.
  'table public.notes': { authenticated: ['SELECT', 'INSERT', 'DELETE'], service_role: ALL },
}

/** A superuser connection (the migration role) straight to PostgreSQL. */
function direct() {
  return postgres(testStack().dbUrl, { max: 1, onnotice: () => {} })
}

/**
 * Schemas the migration files create objects in: `create schema x`, and the qualifier of every
 * created table, view, sequence, function or procedure (public when unqualified).
 */
function schemasInMigrationFiles(): Set<string> {
  const dir = join(repoRoot, 'supabase', 'migrations')
  const created =
    /\bcreate\s+(?:or\s+replace\s+)?(?:unlogged\s+)?(schema|table|(?:materialized\s+)?view|sequence|function|procedure)\s+(?:if\s+not\s+exists\s+)?("[^"]+"|[a-z_][\w$]*)(\s*\.)?/gi
  const schemas = new Set<string>()
  for (const entry of Deno.readDirSync(dir)) {
    if (!entry.isFile || !entry.name.endsWith('.sql')) continue
    const text = Deno.readTextFileSync(join(dir, entry.name)).replace(/--[^\n]*/g, '')
    for (const [, kind, name, dot] of text.matchAll(created)) {
      const unquoted = name!.startsWith('"') ? name!.slice(1, -1) : name!.toLowerCase()
      schemas.add(kind!.toLowerCase() === 'schema' || dot ? unquoted : 'public')
    }
  }
  return schemas
}

/**
 * The schemas to audit: those the migration files name, and every schema holding a function or
 * relation the migration role owns (not an extension's), system schemas aside.
 */
async function auditedSchemas(sql: postgres.Sql): Promise<string[]> {
  const owned = await sql<{ nspname: string }[]>`
    select n.nspname
    from pg_catalog.pg_namespace as n
    where n.nspname not in ('pg_catalog', 'information_schema')
      and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
      and (
        exists (
          select 1 from pg_catalog.pg_proc as p
          where p.pronamespace = n.oid and p.proowner = ${MIGRATION_ROLE}::regrole
            and not exists (
              select 1 from pg_catalog.pg_depend as d
              where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid
                and d.deptype = 'e'))
        or exists (
          select 1 from pg_catalog.pg_class as c
          where c.relnamespace = n.oid and c.relowner = ${MIGRATION_ROLE}::regrole
            and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
            and not exists (
              select 1 from pg_catalog.pg_depend as d
              where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid
                and d.deptype = 'e')))`
  const schemas = new Set([...schemasInMigrationFiles(), ...owned.map((row) => row.nspname)])
  return [...schemas].sort()
}

interface Grant {
  object: string
  role: Role
  privilege: string
}

/**
 * The functions, relations and schemas audited, as `<kind> <name>` with the ACL kind that
 * `acldefault` knows; extension members aside (the extension's own grants are not ours).
 */
function auditedObjects(sql: postgres.Sql, schemas: string[]) {
  return sql`
    select p.oid, 'f' as acl_kind,
           format('function %I.%I(%s)', n.nspname, p.proname,
             pg_catalog.oidvectortypes(p.proargtypes)) as object
    from pg_catalog.pg_proc as p
    join pg_catalog.pg_namespace as n on n.oid = p.pronamespace
    where n.nspname = any(${schemas})
      and not exists (
        select 1 from pg_catalog.pg_depend as d
        where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
    union all
    select c.oid, case c.relkind when 'S' then 's' else 'r' end,
           format('%s %I.%I',
             case c.relkind when 'S' then 'sequence' when 'v' then 'view'
               when 'm' then 'materialized view' when 'f' then 'foreign table' else 'table' end,
             n.nspname, c.relname)
    from pg_catalog.pg_class as c
    join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
    where n.nspname = any(${schemas}) and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
      and not exists (
        select 1 from pg_catalog.pg_depend as d
        where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
    union all
    select n.oid, 'n', format('schema %I', n.nspname)
    from pg_catalog.pg_namespace as n
    where n.nspname = any(${schemas})`
}

/**
 * Every privilege type of each audited object (those its owner holds), and every one of them each
 * role holds: directly, through PUBLIC, or through a role it may switch to.
 */
async function actualGrants(sql: postgres.Sql, schemas: string[]) {
  const rows = await sql<(Grant & { held: boolean })[]>`
    with objects as (${auditedObjects(sql, schemas)}),
    roles as (select unnest(${[...ROLES]}::text[]) as role),
    -- A role may use what any role it can switch to may (authenticator: the three API roles).
    reach as (
      select r.role, g.oid as via
      from roles as r
      join pg_catalog.pg_roles as g on pg_catalog.pg_has_role(r.role, g.oid, 'MEMBER')
    ),
    privileges as (
      select o.oid, o.object, o.acl_kind, a.privilege_type as privilege
      from objects as o
      cross join lateral pg_catalog.aclexplode(
        pg_catalog.acldefault(o.acl_kind::"char", ${MIGRATION_ROLE}::regrole)) as a
      where a.grantee = ${MIGRATION_ROLE}::regrole
    )
    select p.object, r.role, p.privilege,
           exists (
             select 1 from reach as x
             where x.role = r.role
               and case p.acl_kind
                 when 'f' then pg_catalog.has_function_privilege(x.via, p.oid, p.privilege)
                 when 's' then pg_catalog.has_sequence_privilege(x.via, p.oid, p.privilege)
                 when 'n' then pg_catalog.has_schema_privilege(x.via, p.oid, p.privilege)
                 -- A grant on one column is a grant too.
                 else pg_catalog.has_table_privilege(x.via, p.oid, p.privilege)
                   or (p.privilege in ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES')
                     and pg_catalog.has_any_column_privilege(x.via, p.oid, p.privilege))
               end) as held
    from privileges as p
    cross join roles as r
    order by p.object, r.role, p.privilege`
  const all = new Map<string, string[]>()
  for (const { object, privilege, role } of rows) {
    if (role === ROLES[0]) all.set(object, [...(all.get(object) ?? []), privilege])
  }
  const held: Grant[] = rows.filter((row) => row.held)
    .map(({ object, role, privilege }) => ({ object, role, privilege }))
  return { all, held }
}

/** What the allow-list grants `role` on `object`, whose privileges are `all`. */
function expectedFor(allowed: Allowed, role: Role, all: string[]): string[] {
  const of = (apiRole: ApiRole) => {
    const list = allowed[apiRole] ?? []
    return list === ALL ? all : [...list]
  }
  const roles = role === 'authenticator' ? API_ROLES : [role]
  return [...new Set(roles.flatMap(of))].sort()
}

Deno.test({
  name:
    'every function, table, view, sequence and schema the migrations create: anon, authenticated, service_role and authenticator hold exactly the allow-listed privileges, and nothing outside the list exists',
  ignore,
  async fn() {
    const sql = direct()
    try {
      const schemas = await auditedSchemas(sql)
      for (const schema of ['public', 'edge_auth']) assert(schemas.includes(schema), schema)
      assert(!schemas.includes('auth'), "the auth schema is the auth server's, not ours")
      const { all, held } = await actualGrants(sql, schemas)
      const problems: string[] = []
      for (const [object, privileges] of all) {
        const allowed = allowList[object]
        const actual = (role: Role) =>
          held.filter((g) => g.object === object && g.role === role).map((g) => g.privilege)
            .sort()
        if (!allowed) {
          const grants = ROLES.map((role) => `${role}: [${actual(role).join(', ')}]`).join('; ')
          problems.push(`${object} is not in the allow-list (${grants})`)
          continue
        }
        for (const role of ROLES) {
          const expected = expectedFor(allowed, role, privileges)
          const got = actual(role)
          if (expected.join() !== got.join()) {
            problems.push(
              `${object}: ${role} may [${got.join(', ')}], allowed [${expected.join(', ')}]`,
            )
          }
        }
      }
      for (const object of Object.keys(allowList)) {
        if (!all.has(object)) problems.push(`${object} is allow-listed but does not exist`)
      }
      assertEquals(problems, [], problems.join('\n'))
      // The audit saw the API roles' real grants: service_role's defaults on notes are there.
      assert(held.some((g) => g.object === 'table public.notes' && g.privilege === 'TRUNCATE'))
    } finally {
      await sql.end()
    }
  },
})

interface DefinerFunction {
  schema: string
  name: string
  argNames: string[]
  argTypes: string[]
}

/** A value generator for one argument, by type and name; null where the type is unknown. */
function argument(
  type: string,
  name: string,
  ids: { userId: string; sessionIds: string[] },
): fc.Arbitrary<unknown> {
  const nullable = <T>(arb: fc.Arbitrary<T>) => fc.oneof(arb, fc.constant(null))
  switch (type) {
    case 'uuid':
      if (/user/.test(name)) return nullable(fc.oneof(fc.constant(ids.userId), fc.uuid()))
      if (/session/.test(name)) {
        return nullable(fc.oneof(fc.constantFrom(...ids.sessionIds), fc.uuid()))
      }
      return nullable(fc.uuid())
    case 'text':
      // No NUL: PostgreSQL refuses it in text before any permission check.
      return nullable(
        fc.oneof(
          fc.constantFrom('global', 'local', 'others'),
          fc.string().filter((text) => !text.includes('\0')),
        ),
      )
    case 'integer':
      return nullable(fc.integer())
    case 'bigint':
      return nullable(fc.bigInt({ min: 0n, max: 2n ** 62n }).map(String))
    case 'xid8':
      return nullable(fc.bigInt({ min: 0n, max: 2n ** 40n }).map(String))
    case 'boolean':
      return nullable(fc.boolean())
    default:
      return fc.constant(null)
  }
}

/** Runs one call as `role` (as PostgREST would for a request with that role) and returns its error. */
async function callAs(
  sql: postgres.Sql,
  role: Role,
  claims: Record<string, unknown>,
  fn: DefinerFunction,
  args: unknown[],
): Promise<{ code?: string; message: string } | null> {
  const placeholders = fn.argTypes.map((type, i) => `$${i + 1}::${type}`).join(', ')
  const call = `select ${quoteIdent(fn.schema)}.${quoteIdent(fn.name)}(${placeholders})`
  try {
    await sql.begin(async (tx) => {
      await tx`select pg_catalog.set_config('role', ${role}, true),
                      pg_catalog.set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`
      await tx.unsafe(call, args as postgres.ParameterOrJSON<never>[])
    })
    return null
  } catch (err) {
    return err as { code?: string; message: string }
  }
}

/** Who calls the SECURITY DEFINER functions: what a publishable key or a user's token reaches. */
const CALLERS = ['anon', 'authenticated', 'authenticator'] as const
type Caller = (typeof CALLERS)[number]

/** Thrown to roll a probe's transaction back. */
class RolledBack extends Error {}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

Deno.test({
  name:
    "every SECURITY DEFINER function called as anon, authenticated (a signed-in user's own claims) or authenticator, with generated arguments and the user's real ids -> 42501, and no session ends",
  ignore,
  async fn() {
    const sql = direct()
    try {
      const schemas = await auditedSchemas(sql)
      const functions = await sql<DefinerFunction[]>`
        select n.nspname as schema, p.proname as name,
               coalesce(p.proargnames[1:p.pronargs], array[]::text[]) as "argNames",
               array(select pg_catalog.format_type(t, null)
                     from unnest(p.proargtypes) with ordinality as a(t, i) order by i)
                 as "argTypes"
        from pg_catalog.pg_proc as p
        join pg_catalog.pg_namespace as n on n.oid = p.pronamespace
        where p.prosecdef and n.nspname = any(${schemas})
        order by 1, 2`
      const names = functions.map((f) => `${f.schema}.${f.name}`)
      for (const expected of ['public.auth_end_sessions', 'public.auth_revoke_user_sessions']) {
        assert(names.includes(expected), `${expected} among ${names}`)
      }

      const user = await createTestUser()
      const sessionIds: string[] = []
      const tokens: string[] = []
      for (let i = 0; i < 2; i++) {
        const { data, error } = await signInWithSupabaseJs(user)
        if (error || !data.session) throw new Error(`sign-in failed: ${error?.message}`)
        tokens.push(data.session.access_token)
        sessionIds.push(decodeJwt(data.session.access_token).session_id as string)
      }
      const ids = { userId: user.id, sessionIds }
      const claims: Record<Caller, Record<string, unknown>> = {
        anon: { role: 'anon' },
        authenticated: decodeJwt(tokens[0]!),
        authenticator: {},
      }
      const liveSessions = async () =>
        (await sql`select id from auth.sessions where user_id = ${user.id} order by id`)
          .map((row) => row.id).sort()

      let calls = 0
      for (const fn of functions) {
        const args = fc.tuple(
          ...fn.argTypes.map((type, i) => argument(type, fn.argNames[i] ?? '', ids)),
        )
        // First the attack itself: the user's own ids, every session.
        const attack = fn.argTypes.map((type, i) => {
          const name = fn.argNames[i] ?? ''
          if (type === 'uuid' && /user/.test(name)) return user.id
          if (type === 'uuid' && /session/.test(name)) return sessionIds[0]
          if (type === 'text') return 'global'
          return null
        })
        await fc.assert(
          fc.asyncProperty(
            fc.constantFrom(...CALLERS),
            args,
            async (role, values) => {
              calls++
              const error = await callAs(sql, role, claims[role], fn, values)
              const call = `${fn.schema}.${fn.name}(${JSON.stringify(values)}) as ${role}`
              assert(error, `${call} succeeded`)
              assertEquals(error.code, '42501', `${call}: ${error.message}`)
              assertMatch(
                error.message,
                new RegExp(`^permission denied for (function ${fn.name}|schema ${fn.schema})$`),
              )
            },
          ),
          {
            numRuns: 12,
            examples: CALLERS.map((role): [Caller, unknown[]] => [role, attack]),
          },
        )
      }
      assert(calls >= functions.length * 12, `${calls} calls`)
      assertEquals(await liveSessions(), [...sessionIds].sort(), 'both sessions are still live')
      const [logged] = await sql`
        select count(*)::int as n from edge_auth.revocations where user_id = ${user.id}`
      assertEquals(logged!.n, 0, 'nothing was revoked')
    } finally {
      await sql.end()
    }
  },
})

Deno.test({
  name:
    "the bootstrap's default privileges are in force: the migration role's new tables, functions and sequences in public go to anon, authenticated and service_role",
  ignore,
  async fn() {
    const sql = direct()
    try {
      const defaults = await sql<{ type: string; grantee: string; privileges: string[] }[]>`
        select d.defaclobjtype::text as type, a.grantee::regrole::text as grantee,
               array_agg(a.privilege_type order by a.privilege_type) as privileges
        from pg_catalog.pg_default_acl as d
        cross join lateral pg_catalog.aclexplode(d.defaclacl) as a
        where d.defaclrole = ${MIGRATION_ROLE}::regrole
          and d.defaclnamespace = 'public'::regnamespace
        group by 1, 2`
      const all = async (type: string) =>
        (await sql<{ privilege: string }[]>`
          select a.privilege_type as privilege
          from pg_catalog.aclexplode(
            pg_catalog.acldefault(${type}::"char", ${MIGRATION_ROLE}::regrole)) as a
          where a.grantee = ${MIGRATION_ROLE}::regrole
          order by 1`).map((row) => row.privilege)
      for (const [type, aclType] of [['r', 'r'], ['f', 'f'], ['S', 's']] as const) {
        const everything = await all(aclType)
        for (const role of API_ROLES) {
          const row = defaults.find((d) => d.type === type && d.grantee === role)
          assertEquals(row?.privileges, everything, `default privileges on ${type} for ${role}`)
        }
      }

      // And they act: what the migration role creates in public is the API roles' at once.
      await assertRejects(
        () =>
          sql.begin(async (tx) => {
            await tx`create table public.privileges_probe (id bigint generated always as identity)`
            await tx`create function public.privileges_probe() returns int
                     language sql as 'select 1'`
            const [probe] = await tx`
              select pg_catalog.has_table_privilege('anon', 'public.privileges_probe', 'TRUNCATE')
                       as truncate,
                     pg_catalog.has_function_privilege('anon', 'public.privileges_probe()',
                       'EXECUTE') as execute,
                     pg_catalog.has_sequence_privilege('authenticated',
                       pg_catalog.pg_get_serial_sequence('public.privileges_probe', 'id'),
                       'UPDATE') as sequence`
            assertEquals(probe, { truncate: true, execute: true, sequence: true })
            throw new RolledBack()
          }),
        RolledBack,
      )
      const [left] = await sql`select pg_catalog.to_regclass('public.privileges_probe') as t`
      assertEquals(left!.t, null)
    } finally {
      await sql.end()
    }
  },
})

Deno.test({
  name:
    'the bootstrap gives the roles a Supabase project has: authenticator logs in, inherits nothing and may become each API role; the API roles reach auth.uid()',
  ignore,
  async fn() {
    const sql = direct()
    try {
      const roles = await sql<
        { name: string; login: boolean; inherit: boolean; bypassrls: boolean }[]
      >`
        select rolname as name, rolcanlogin as login, rolinherit as inherit,
               rolbypassrls as bypassrls
        from pg_catalog.pg_roles
        where rolname in ('anon', 'authenticated', 'service_role', 'authenticator',
                          'supabase_auth_admin')
        order by rolname`
      assertEquals([...roles], [
        { name: 'anon', login: false, inherit: true, bypassrls: false },
        { name: 'authenticated', login: false, inherit: true, bypassrls: false },
        { name: 'authenticator', login: true, inherit: false, bypassrls: false },
        { name: 'service_role', login: false, inherit: true, bypassrls: true },
        { name: 'supabase_auth_admin', login: true, inherit: false, bypassrls: false },
      ])
      for (const role of API_ROLES) {
        const [rights] = await sql`
          select pg_catalog.pg_has_role('authenticator', ${role}, 'MEMBER') as member,
                 pg_catalog.has_schema_privilege(${role}, 'auth', 'USAGE') as auth_schema,
                 pg_catalog.has_function_privilege(${role}, 'auth.uid()', 'EXECUTE') as uid`
        assertEquals(rights, { member: true, auth_schema: true, uid: true }, role)
      }
      const [owner] = await sql`
        select pg_catalog.pg_get_userbyid(nspowner) as owner
        from pg_catalog.pg_namespace where nspname = 'auth'`
      assertEquals(owner!.owner, 'supabase_auth_admin')
    } finally {
      await sql.end()
    }
  },
})
