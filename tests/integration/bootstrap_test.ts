// The local stack's bootstrap (a Supabase project's roles, grants and default privileges) on the
// real PostgreSQL, run again and again as every start does, in databases of its own: after roles
// drifted as an older stack left them (API roles noinherit, an auth admin with createrole), each
// run leaves exactly a project's attributes, one default privilege entry per object type, the
// auth schema and its grants, and the auth server's password as it was.
import { assertEquals } from '@std/assert'
import fc from 'fast-check'
import postgres from 'postgres'
import { bootstrapDatabase } from '../../supabase/local/bootstrap.ts'
import { withScratchDatabase } from '../_helpers/scratch_database.ts'
import { testStack } from '../_helpers/stack.ts'

/** What an older stack's roles looked like: its own `create role` statements. */
const drifts = [
  'alter role anon noinherit',
  'alter role authenticated noinherit',
  'alter role service_role noinherit',
  'alter role supabase_auth_admin createrole',
]

const projectRoles = [
  { name: 'anon', login: false, inherit: true, bypassrls: false, createrole: false },
  { name: 'authenticated', login: false, inherit: true, bypassrls: false, createrole: false },
  { name: 'authenticator', login: true, inherit: false, bypassrls: false, createrole: false },
  { name: 'service_role', login: false, inherit: true, bypassrls: true, createrole: false },
  { name: 'supabase_auth_admin', login: true, inherit: false, bypassrls: false, createrole: false },
]

Deno.test("the bootstrap run 1-3 times on a database, after roles drifted as an older stack left them -> a project's role attributes, one default privilege entry per type, the auth schema granted, the auth password kept", async () => {
  const admin = postgres(testStack().dbUrl, { max: 1, onnotice: () => {} })
  const password = async () =>
    (await admin`select rolpassword from pg_catalog.pg_authid
                 where rolname = 'supabase_auth_admin'`)[0]!.rolpassword
  const before = await password()
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.subarray(drifts),
        fc.integer({ min: 1, max: 3 }),
        (drift, runs) =>
          withScratchDatabase(admin, 'edge_auth_bootstrap', async (url, db) => {
            for (const statement of drift) await admin.unsafe(statement)
            for (let i = 0; i < runs; i++) await bootstrapDatabase(url)

            const roles = await db`
              select rolname as name, rolcanlogin as login, rolinherit as inherit,
                     rolbypassrls as bypassrls, rolcreaterole as createrole
              from pg_catalog.pg_roles
              where rolname in ('anon', 'authenticated', 'service_role', 'authenticator',
                                'supabase_auth_admin')
              order by rolname`
            assertEquals([...roles], projectRoles)
            const defaults = await db`
              select d.defaclobjtype::text as type,
                     array_agg(a.grantee::regrole::text order by a.grantee::regrole::text)
                       filter (where a.privilege_type in ('SELECT', 'EXECUTE')) as grantees
              from pg_catalog.pg_default_acl as d
              cross join lateral pg_catalog.aclexplode(d.defaclacl) as a
              where d.defaclrole = 'postgres'::regrole
                and d.defaclnamespace = 'public'::regnamespace
              group by d.oid, d.defaclobjtype
              order by 1`
            const grantees = ['anon', 'authenticated', 'postgres', 'service_role']
            assertEquals(defaults.map((d) => [d.type, d.grantees]), [
              ['S', grantees],
              ['f', grantees],
              ['r', grantees],
            ])
            const [auth] = await db`
              select pg_catalog.pg_get_userbyid(n.nspowner) as owner,
                     pg_catalog.has_schema_privilege('anon', n.oid, 'USAGE') as anon,
                     pg_catalog.has_schema_privilege('authenticated', n.oid, 'USAGE')
                       as authenticated,
                     pg_catalog.has_schema_privilege('service_role', n.oid, 'USAGE')
                       as service_role
              from pg_catalog.pg_namespace as n where n.nspname = 'auth'`
            assertEquals(auth, {
              owner: 'supabase_auth_admin',
              anon: true,
              authenticated: true,
              service_role: true,
            })
            assertEquals(await password(), before)
          }),
      ),
      { numRuns: 6 },
    )
  } finally {
    // Whatever failed, the stack's own database and roles are left as the bootstrap makes them.
    await bootstrapDatabase(testStack().dbUrl)
    await admin.end()
  }
})
