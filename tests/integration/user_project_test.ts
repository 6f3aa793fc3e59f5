// A Supabase developer's own project, outside this repository, set up the way the README's "Use it
// in your project" says: the package copied into `supabase/functions/_edge-auth/`, its exports in
// the project's own deno.json, the package's migrations in `supabase/migrations/` beside one of
// the project's own (a table of its data under RLS), pushed with the real Supabase CLI. Its
// function is a plain `new Hono()` app with `requireUser` on its own routes and no `onError`; it
// keeps its data in a table of its own, read and written under RLS through the instance's
// database client (`auth.database()`). It runs on the functions' Deno against the stack (auth
// server, database or pooler), signed in and out with supabase-js as a browser app would (the
// local stack has no PostgREST, so supabase-js serves the session, not the data).
import { assert, assertEquals } from '@std/assert'
import { join, resolve } from 'node:path'
import { repoRoot } from '../../supabase/local/paths.ts'
import { fences, readme, section } from '../docs/markdown.ts'
import { spawnManaged } from '../../supabase/local/processes.ts'
import { copyTree } from '../_helpers/copy_tree.ts'
import { holdTransaction, withAdmin } from '../_helpers/db_faults.ts'
import { closedPort } from '../_helpers/local_server.ts'
import {
  dbPush,
  isDemoMigration,
  migrationFiles,
  migrationsDir,
} from '../_helpers/package_migrations.ts'
import { prepareAsSupabaseProject, withScratchDatabase } from '../_helpers/scratch_database.ts'
import { eventually } from '../_helpers/poll.ts'
import {
  createTestUser,
  hasAuthServer,
  supabaseJsClient,
  testStack,
  type TestUser,
} from '../_helpers/stack.ts'

const stack = testStack()
// After every migration of the package, as a project's own later migration is.
const OWN_VERSION = '20991231000000'
const OWN_SCHEMA = 'user_project_app'

const OWN_MIGRATION = `create schema ${OWN_SCHEMA};
create table ${OWN_SCHEMA}.todos (
  id bigint generated always as identity primary key,
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  title text not null check (char_length(title) between 1 and 200)
);
alter table ${OWN_SCHEMA}.todos enable row level security;
create policy todos_own on ${OWN_SCHEMA}.todos to authenticated
  using (user_id = auth.uid()) with check (user_id = auth.uid());
grant usage on schema ${OWN_SCHEMA} to authenticated;
grant select, insert (title) on ${OWN_SCHEMA}.todos to authenticated;
`

// The project's function, as the README shows it: the package's exports, a plain Hono app.
const OWN_FUNCTION = `import { Hono } from 'hono'
import { authFromEnv } from '@edge-auth/edge-auth'
import { type AuthEnv, requireUser } from '@edge-auth/edge-auth/hono'
import { asAuthenticatedUser } from '@edge-auth/edge-auth/postgres'

const auth = authFromEnv(Deno.env, { require: ['dbUrl'] })
auth.warmUp()
const app = new Hono<AuthEnv>().basePath('/my-app')
app.get('/hello', (c) => c.json({ hello: 'anyone' }))
app.use('/todos', requireUser(auth, { session: 'check' }))
app.get('/todos', async (c) => {
  const rows = await asAuthenticatedUser(auth.database(), c.var.auth.claims, (tx) =>
    tx\`select title from ${OWN_SCHEMA}.todos order by id\`)
  return c.json({ user: c.var.auth.user.id, todos: rows.map((row) => row.title) })
})
app.post('/todos', async (c) => {
  const { title } = await c.req.json()
  await asAuthenticatedUser(auth.database(), c.var.auth.claims, (tx) =>
    tx\`insert into ${OWN_SCHEMA}.todos (title) values (\${String(title)})\`)
  return c.body(null, 201)
})
export default { fetch: app.fetch }
`

/** The project folder, the way the README builds it. */
async function userProject(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: 'edge-auth-user-project-' })
  const functions = join(root, 'supabase', 'functions')
  await copyTree(join(repoRoot, 'functions', '_shared'), join(functions, '_edge-auth'))
  await Deno.mkdir(join(functions, 'my-app'), { recursive: true })
  await Deno.writeTextFile(join(functions, 'my-app', 'index.ts'), OWN_FUNCTION)
  // The README's map, verbatim.
  const imports = JSON.parse(
    fences(section(readme(), 'Use it in your project')).find((fence) => fence.lang === 'json')!
      .body,
  ).imports as Record<string, string>
  await Deno.writeTextFile(join(root, 'deno.json'), JSON.stringify({ imports }, null, 2))
  const migrations = join(root, 'supabase', 'migrations')
  await Deno.mkdir(migrations, { recursive: true })
  for (const file of migrationFiles().filter((file) => !isDemoMigration(file))) {
    await Deno.copyFile(join(migrationsDir, file), join(migrations, file))
  }
  await Deno.writeTextFile(join(migrations, `${OWN_VERSION}_todos.sql`), OWN_MIGRATION)
  await Deno.writeTextFile(join(root, 'supabase', 'config.toml'), 'project_id = "my-app"\n')
  return root
}

/** Leaves the stack's database as it was: the project's own table gone. */
async function dropOwnSchema(): Promise<void> {
  await withAdmin(stack, (sql) => sql.unsafe(`drop schema if exists ${OWN_SCHEMA} cascade`))
}

/**
 * Pushes the project's migrations with the CLI to a database of its own, set up like a Supabase
 * project's: the package's files and the project's own apply as the README says. (The stack's
 * database carries this repository's history, demo included, which the CLI would rightly refuse
 * to push a different project onto.)
 */
async function pushToOwnDatabase(root: string): Promise<void> {
  await withAdmin(
    stack,
    (admin) =>
      withScratchDatabase(admin, 'edge_auth_user_project', async (url, db) => {
        await prepareAsSupabaseProject(url)
        const output = await dbPush(root, url)
        assert(output.includes(`${OWN_VERSION}_todos.sql`), output)
        const applied = await db`select version from supabase_migrations.schema_migrations`
        const files = [...Deno.readDirSync(join(root, 'supabase', 'migrations'))]
        assertEquals(applied.length, files.length)
      }),
  )
}

/** Serves the project's function on the functions' Deno, with what a hosted function receives. */
async function serve(root: string) {
  const port = closedPort()
  const jwks = await (await fetch(stack.jwksUrl)).text()
  // The lane's functions Deno (a path relative to the repository), as the stack runs functions.
  const lane = Deno.env.get('EDGE_AUTH_FUNCTIONS_DENO')
  const deno = lane ? resolve(repoRoot, lane) : Deno.execPath()
  const log: string[] = []
  // As the README runs it: `deno serve -A --config deno.json <function>`, on a port of its own.
  const child = spawnManaged(deno, [
    'serve',
    '-A',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--config',
    join(root, 'deno.json'),
    join(root, 'supabase', 'functions', 'my-app', 'index.ts'),
  ], {
    cwd: root,
    env: {
      SUPABASE_URL: stack.url,
      EDGE_AUTH_JWT_ISSUER: stack.issuer,
      SUPABASE_DB_URL: stack.functionsDbUrl,
      SUPABASE_JWKS: jwks,
      SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: stack.publishableKey }),
    },
    output: { line: (line) => log.push(line) },
  })
  const base = `http://127.0.0.1:${port}/my-app`
  try {
    await eventually(() => fetch(`${base}/hello`).then((r) => r.ok, () => false), {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: 'the project function answers',
      describe: () => log.slice(-5).join('\n'),
    })
  } catch (error) {
    await child.stop()
    throw error
  }
  return { base, stop: () => child.stop(), log }
}

async function signIn(user: TestUser) {
  const supabase = supabaseJsClient(stack)
  const { data, error } = await supabase.auth.signInWithPassword(user)
  assert(data.session, `signed in: ${error?.message}`)
  return { supabase, token: data.session.access_token }
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` })

function assertChallenge(response: Response, error?: string): void {
  const challenge = response.headers.get('WWW-Authenticate') ?? ''
  assert(challenge.startsWith('Bearer realm="edge-auth"'), challenge)
  if (error) assert(challenge.includes(`error="${error}"`), challenge)
  assertEquals(response.headers.get('Content-Type'), 'application/json')
}

Deno.test({
  name:
    "a user's own project (the package copied, its SQL pushed with the CLI, a plain Hono app): login -> own route 200 -> logout -> 401 session revoked; no token 401; bad token 401; store down 503",
  ignore: !hasAuthServer,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const root = await userProject()
    let server: Awaited<ReturnType<typeof serve>> | undefined
    try {
      await pushToOwnDatabase(root)
      // The stack's database has the package's files already: the project's own is what it lacks.
      await withAdmin(stack, (sql) => sql.unsafe(OWN_MIGRATION))

      server = await serve(root)
      const { base } = server

      const none = await fetch(`${base}/todos`)
      assertEquals(none.status, 401)
      assertEquals(await none.json(), {
        error: 'unauthorized',
        error_description: 'Authentication required',
      })
      assertChallenge(none)

      const bad = await fetch(`${base}/todos`, { headers: bearer('not.a.token') })
      assertEquals(bad.status, 401)
      assertEquals((await bad.json()).error, 'invalid_token')
      assertChallenge(bad, 'invalid_token')

      const alice = await createTestUser()
      const bob = await createTestUser()
      const a = await signIn(alice)
      const b = await signIn(bob)
      for (
        const [who, title] of [[a, 'alice: milk'], [b, 'bob: bread'], [a, 'alice: eggs']] as const
      ) {
        const created = await fetch(`${base}/todos`, {
          method: 'POST',
          headers: { ...bearer(who.token), 'Content-Type': 'application/json' },
          body: JSON.stringify({ title }),
        })
        assertEquals(created.status, 201, `${await created.text()}\n${server.log.join('\n')}`)
      }
      const mine = await fetch(`${base}/todos`, { headers: bearer(a.token) })
      assertEquals(mine.status, 200)
      assertEquals(await mine.json(), {
        user: alice.id,
        todos: ['alice: milk', 'alice: eggs'],
      })

      // Signed out everywhere with supabase-js: the token still verifies, the session is gone.
      const { error } = await a.supabase.auth.signOut({ scope: 'global' })
      assertEquals(error, null)
      const since = performance.now()
      let last = ''
      await eventually(async () => {
        const response = await fetch(`${base}/todos`, { headers: bearer(a.token) })
        last = `${response.status} ${await response.clone().text()}`
        if (response.status !== 401) return false
        assertEquals(await response.json(), {
          error: 'invalid_token',
          error_description: 'session revoked',
        })
        assertChallenge(response, 'invalid_token')
        return true
      }, {
        timeoutMs: 3_000,
        what: 'the own route refuses the signed-out session',
        since,
        describe: () => last,
      })
      const still = await fetch(`${base}/todos`, { headers: bearer(b.token) })
      assertEquals(still.status, 200, 'the other user is still signed in')
      await still.body?.cancel()

      // The session store down: a session not asked about yet, its table locked past the bound.
      const carol = await createTestUser()
      const c = await signIn(carol)
      const held = await holdTransaction(stack, 'lock table auth.sessions in access exclusive mode')
      try {
        const down = await fetch(`${base}/todos`, { headers: bearer(c.token) })
        assertEquals(down.status, 503)
        assertEquals(await down.json(), {
          error: 'temporarily_unavailable',
          error_description: 'Session store unavailable, retry later',
        })
        assertEquals(down.headers.get('Retry-After'), '5')
        assertEquals(down.headers.get('WWW-Authenticate'), null)
      } finally {
        await held.release()
      }
    } finally {
      await server?.stop()
      await dropOwnSchema()
      await Deno.remove(root, { recursive: true })
    }
  },
})
