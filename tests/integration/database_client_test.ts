// The functions' PostgreSQL client (postgres.js underneath) against the real server, and in the
// pooler lane PgBouncer in transaction mode: values round-trip exactly (a leading U+FEFF too),
// transactions commit or roll back, the pool stays within its size, a connection the server ends
// is replaced, failures are coded and never carry the password, `sslmode` and `sslrootcert` mean
// what they mean to libpq (verify-full tested against a CA generated for the run), and a
// postgres.js client the function built itself works in place of a URL, under the same deadlines.
// The only fake is a listener that never answers.
import { assert, assertEquals, assertRejects } from '@std/assert'
import fc from 'fast-check'
import postgres from 'postgres'
import { authFromConfig } from '../../functions/_shared/auth/from_env.ts'
import {
  createDatabaseClient,
  type Sql,
  withDeadlines,
} from '../../functions/_shared/db/database.ts'
import {
  DATABASE_TIMEOUT,
  isDatabaseUnavailable,
} from '../../functions/_shared/db/database_errors.ts'
import { createMeApp } from '../../functions/me/app.ts'
import { closedPort } from '../_helpers/local_server.ts'
import { eventually } from '../_helpers/poll.ts'
import { insertSessions, tokenFor, withAdmin } from '../_helpers/db_faults.ts'
import {
  callFunction,
  createTestUser,
  hasAuthServer,
  requestInit,
  stackConfig,
  testStack,
} from '../_helpers/stack.ts'
import { postgresOwner } from '../../supabase/local/postgres.ts'
import { runCommand } from '../../supabase/local/processes.ts'

const PASSWORD_MARK = 'do-not-leak-7c1f'

async function using<T>(sql: Sql, work: (sql: Sql) => Promise<T>): Promise<T> {
  try {
    return await work(sql)
  } finally {
    await sql.end()
  }
}

/**
 * The test database's URL with a fresh `application_name`, by which the client's server sessions
 * are found (to count them, or to end them).
 */
function namedUrl(prefix: string, base = testStack().dbUrl): { url: string; name: string } {
  const name = `${prefix}-${crypto.randomUUID().slice(0, 8)}`
  const url = new URL(base)
  url.searchParams.set('application_name', name)
  return { url: url.href, name }
}

/** A superuser connection straight to PostgreSQL, to watch and end the client's sessions. */
function admin<T>(work: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  return withAdmin(testStack(), work)
}

/** Ends, from the server side, every session with this application name. */
function terminateSessions(name: string): Promise<unknown> {
  return admin((a) =>
    a`select pg_terminate_backend(pid) from pg_stat_activity where application_name = ${name}`
  )
}

/** A TCP listener that accepts connections and never says a word. */
function silentListener(): { port: number; close(): void } {
  const listener = Deno.listen({ hostname: '127.0.0.1', port: 0 })
  const accepted: Deno.Conn[] = []
  ;(async () => {
    for await (const connection of listener) accepted.push(connection)
  })().catch(() => {})
  return {
    port: (listener.addr as Deno.NetAddr).port,
    close() {
      listener.close()
      for (const connection of accepted) {
        try {
          connection.close()
        } catch {
          // Closed by the client.
        }
      }
    },
  }
}

const BOM_TEXTS = ['\uFEFF', '\uFEFFnote', '\uFEFF\uFEFF', 'a\uFEFF', '\uFFFE\uFEFF']

Deno.test('text of any Unicode (a leading U+FEFF too), int8, numeric, json, timestamps and NULL round-trip exactly (generated)', async () => {
  await using(createDatabaseClient(testStack().functionsDbUrl, { max: 2 }), async (sql) => {
    const text = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 200 }),
      fc.constantFrom(...BOM_TEXTS),
      fc.string({ unit: 'grapheme', maxLength: 20 }).map((s) => `\uFEFF${s}`),
    ).filter((s) => !s.includes('\0'))
    await fc.assert(
      fc.asyncProperty(
        text,
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        fc.date({ min: new Date('1000-01-01Z'), max: new Date('9000-01-01Z') }),
        fc.jsonValue(),
        async (text, big, date, json) => {
          if (Number.isNaN(date.getTime())) return
          const [row] = await sql`
            select ${text}::text as text, ${big}::int8 as big, ${big.toString()}::numeric as num,
                   ${date}::timestamptz as date, ${{ json }}::jsonb as doc,
                   ${null}::text as nothing, length(${text}::text) as length, true as yes`
          assertEquals(row, {
            text,
            big: big.toString(),
            num: big.toString(),
            date,
            doc: { json: JSON.parse(JSON.stringify(json)) },
            nothing: null,
            length: [...text].length,
            yes: true,
          })
        },
      ),
      { numRuns: 150 },
    )
  })
})

Deno.test({
  name:
    "POST /notes with bodies beginning with U+FEFF (and other texts, generated) through the served function, on the functions' Deno -> GET /notes gives each back exactly",
  ignore: !hasAuthServer,
  async fn() {
    const stack = testStack()
    const user = await createTestUser({ stack })
    const [session] = await insertSessions(stack, user.id, 1)
    const token = await tokenFor(stack, user.id, session!)
    const bodies = [
      ...BOM_TEXTS,
      ...fc.sample(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
          .filter((s) => !s.includes('\0') && s.trim() !== ''),
        10,
      ).map((s) => `\uFEFF${s}`),
    ]
    for (const body of bodies) {
      const created = await callFunction('notes', requestInit({ body }, token), stack)
      const text = await created.text()
      assertEquals(created.status, 201, text)
      assertEquals(JSON.parse(text).body, body)
    }
    const listed = await callFunction('notes?limit=100', requestInit(undefined, token), stack)
    const page = await listed.json()
    assertEquals(
      page.notes.map((note: { body: string }) => note.body).sort(),
      [...bodies].sort(),
    )
  },
})

Deno.test('a value is a parameter, never SQL: quotes, comments and $1 in strings stay data (generated)', async () => {
  await using(createDatabaseClient(testStack().functionsDbUrl, { max: 1 }), async (sql) => {
    const hostile = fc.constantFrom("'", "''", '--', '/*', '*/', ';', '$1', '$$', '\\', '"')
    await fc.assert(
      fc.asyncProperty(fc.array(hostile, { minLength: 1, maxLength: 6 }), async (parts) => {
        const value = parts.join('')
        const rows = await sql`select ${value}::text as v, ${value}::text = ${value} as same`
        assertEquals(rows, [{ v: value, same: true }])
      }),
      { numRuns: 100 },
    )
  })
})

Deno.test('a transaction commits when its work resolves, rolls back when it throws or a statement of it failed (even one it caught); a transaction used after it ended refuses', async () => {
  await using(createDatabaseClient(testStack().functionsDbUrl, { max: 1 }), async (sql) => {
    const table = `db_client_${crypto.randomUUID().replaceAll('-', '')}`
    await sql`create table ${sql.unsafe(table)} (x int primary key)`
    try {
      await sql.begin(async (tx) => {
        await tx`insert into ${tx.unsafe(table)} values (1)`
      })
      await assertRejects(
        () =>
          sql.begin(async (tx) => {
            await tx`insert into ${tx.unsafe(table)} values (2)`
            throw new Error('work failed')
          }),
        Error,
        'work failed',
      )
      // A failed statement caught inside the work: the transaction is rolled back all the same,
      // and the caller hears of the statement's error.
      const error = await assertRejects(() =>
        sql.begin(async (tx) => {
          await tx`insert into ${tx.unsafe(table)} values (3)`
          await tx`insert into ${tx.unsafe(table)} values (1)`.catch(() => {})
        })
      )
      assertEquals((error as { code?: string }).code, '23505')
      let escaped: ((strings: TemplateStringsArray) => Promise<unknown>) | null = null
      await sql.begin(async (tx) => {
        escaped = tx
        await Promise.resolve()
      })
      await assertRejects(() => escaped!`select 1`, Error, 'The transaction is over')
      assertEquals(await sql`select x from ${sql.unsafe(table)} order by x`, [{ x: 1 }])
      // The one connection is idle again, not left inside a transaction: each statement is its
      // own transaction, so now() moves on between two of them.
      const [first] = await sql`select now()::text as t`
      await new Promise((resolve) => setTimeout(resolve, 5))
      const [second] = await sql`select now()::text as t`
      assert(first!.t !== second!.t, 'autocommit')
    } finally {
      await sql`drop table ${sql.unsafe(table)}`
    }
  })
})

Deno.test('the pool opens at most its size, whatever the number of concurrent queries (1 to 5, generated)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 5 }), async (max) => {
      const { url, name } = namedUrl('pool')
      await using(createDatabaseClient(url, { max }), async (sql) => {
        let peak = 0
        const queries = Array.from(
          { length: 12 },
          (_, i) => sql`select pg_sleep(0.03), ${i}::int as i`,
        )
        const counting = admin(async (a) => {
          for (let i = 0; i < 8; i++) {
            const [row] = await a`
              select count(*)::int as count from pg_stat_activity where application_name = ${name}`
            peak = Math.max(peak, Number(row!.count))
            await new Promise((resolve) => setTimeout(resolve, 15))
          }
        })
        const rows = await Promise.all(queries)
        await counting
        assertEquals(rows.map((r) => r[0]!.i), [...Array(12).keys()])
        assert(peak >= 1 && peak <= max, `max ${max}: peak ${peak} connections`)
      })
    }),
    { numRuns: 5 },
  )
})

Deno.test('a connection the server ends while idle is replaced: the next query succeeds', async () => {
  const { url, name } = namedUrl('ended')
  await using(createDatabaseClient(url, { max: 1 }), async (sql) => {
    assertEquals(await sql`select 1 as one`, [{ one: 1 }])
    await terminateSessions(name)
    // The close is seen while idle; give it the time a packet takes.
    await new Promise((resolve) => setTimeout(resolve, 100))
    assertEquals(await sql`select 2 as two`, [{ two: 2 }])
  })
})

Deno.test('a connection ended during a query -> an error the functions answer 503 for, and the pool recovers', async () => {
  const { url, name } = namedUrl('killed')
  await using(createDatabaseClient(url, { max: 1, timeoutMs: 8_000 }), async (sql) => {
    const slow = sql`select pg_sleep(5)`.then(() => null, (error: unknown) => error)
    await new Promise((resolve) => setTimeout(resolve, 200))
    await terminateSessions(name)
    const error = await slow
    assert(isDatabaseUnavailable(error), `unavailable: ${(error as Error).message}`)
    assertEquals(await sql`select 3 as three`, [{ three: 3 }])
  })
})

Deno.test('a wrong password -> 28P01 from PostgreSQL (08P01 from PgBouncer), the password in no message', async () => {
  const url = new URL(testStack().functionsDbUrl)
  url.password = PASSWORD_MARK
  await using(createDatabaseClient(url.href, { max: 1 }), async (sql) => {
    const error = await assertRejects(() => sql`select 1`, postgres.PostgresError)
    // PostgreSQL says invalid_password; PgBouncer (the pooler lane) reports a protocol violation.
    const expected = testStack().database === 'direct' ? '28P01' : '08P01'
    assertEquals((error as postgres.PostgresError).code, expected)
    assert(!JSON.stringify([error.message, error.stack, String(error)]).includes(PASSWORD_MARK))
  })
})

Deno.test('nothing listening -> ECONNREFUSED at once, classified unavailable, no password in it', async () => {
  const url = `postgres://u:${PASSWORD_MARK}@127.0.0.1:${closedPort()}/db`
  await using(createDatabaseClient(url, { max: 1 }), async (sql) => {
    const started = performance.now()
    const error = await assertRejects(() => sql`select 1`)
    assertEquals((error as { code?: string }).code, 'ECONNREFUSED')
    assert(isDatabaseUnavailable(error))
    assert(performance.now() - started < 1_000, 'at once')
    assert(!JSON.stringify([error.message, error.stack, String(error)]).includes(PASSWORD_MARK))
  })
})

Deno.test('connect_timeout from the URL is honoured: a listener that never answers -> CONNECT_TIMEOUT after it (1 s), well within a longer budget', async () => {
  const silent = silentListener()
  try {
    const url = `postgres://u:p@127.0.0.1:${silent.port}/db?connect_timeout=1`
    await using(createDatabaseClient(url, { max: 1, timeoutMs: 5_000 }), async (sql) => {
      const started = performance.now()
      const error = await assertRejects(() => sql`select 1`)
      const ms = performance.now() - started
      assertEquals((error as { code?: string }).code, 'CONNECT_TIMEOUT')
      assert(isDatabaseUnavailable(error))
      assert(ms >= 950 && ms < 2_500, `${Math.round(ms)} ms`)
    })
  } finally {
    silent.close()
  }
})

Deno.test('sslmode=require on a server without TLS -> refused, never plaintext; sslmode=prefer -> a plain connection; disable -> plain', async () => {
  const url = new URL(testStack().functionsDbUrl)
  url.searchParams.set('sslmode', 'require')
  await using(createDatabaseClient(url.href, { max: 1 }), async (sql) => {
    await assertRejects(() => sql`select 1`)
  })
  for (const mode of ['prefer', 'disable']) {
    url.searchParams.set('sslmode', mode)
    await using(createDatabaseClient(url.href, { max: 1 }), async (sql) => {
      assertEquals(await sql`select 1 as one`, [{ one: 1 }], mode)
    })
  }
})

/** Runs a command (openssl here); its error output when it fails. */
async function run(command: string, args: string[]): Promise<void> {
  const result = await runCommand(command, args)
  if (result.code !== 0) throw new Error(`${command} ${args[0]}: ${result.stderr}`)
}

/**
 * A certificate authority and a server certificate for 127.0.0.1 signed by it, generated for this
 * run, and the server's files readable by PostgreSQL only.
 */
async function certificates(dir: string) {
  const ca = { key: `${dir}/ca.key`, cert: `${dir}/ca.pem` }
  const server = { key: `${dir}/server.key`, csr: `${dir}/server.csr`, cert: `${dir}/server.pem` }
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    ...['-keyout', ca.key, '-out', ca.cert, '-days', '1', '-subj', '/CN=edge-auth test CA'],
    ...['-addext', 'basicConstraints=critical,CA:TRUE'],
    ...['-addext', 'keyUsage=critical,keyCertSign'],
  ])
  await run('openssl', [
    'req',
    ...ec,
    ...['-keyout', server.key, '-out', server.csr, '-subj', '/CN=127.0.0.1'],
  ])
  const extensions = `${dir}/server.ext`
  await Deno.writeTextFile(extensions, 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
  await run('openssl', [
    'x509',
    '-req',
    ...['-in', server.csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial'],
    ...['-out', server.cert, '-days', '1', '-extfile', extensions],
  ])
  await Deno.chmod(dir, 0o755)
  await Deno.chmod(server.key, 0o600)
  await Deno.chmod(server.cert, 0o644)
  await Deno.chmod(ca.cert, 0o644)
  // PostgreSQL refuses a key that is not its own (or root's with 0640).
  const owner = await postgresOwner()
  if (owner) await Deno.chown(server.key, owner.uid, owner.gid)
  return { ca: ca.cert, serverKey: server.key, serverCert: server.cert }
}

/** The TLS state of the client's own connection, as PostgreSQL sees it. */
async function tlsOf(url: URL): Promise<{ ssl: boolean; version: string | null }> {
  const sql = createDatabaseClient(url.href, { max: 1, timeoutMs: 5_000 })
  try {
    const [row] = await sql`select ssl, version from pg_stat_ssl where pid = pg_backend_pid()`
    return { ssl: row!.ssl as boolean, version: row!.version as string | null }
  } finally {
    await sql.end()
  }
}

Deno.test('TLS against PostgreSQL with a CA generated for the run: verify-full and verify-ca with sslrootcert encrypt; verify-full refuses a host the certificate does not name, verify-ca does not; verify-full with no root given (the system roots) -> refused, never plaintext; require encrypts without verifying; disable stays plain', async () => {
  const dir = await Deno.makeTempDir({ prefix: 'edge-auth-tls-' })
  const files = await certificates(dir)
  await admin(async (a) => {
    // ALTER SYSTEM takes no parameters; the paths are this test's own temporary files.
    const literal = (text: string) => `'${text.replaceAll("'", "''")}'`
    await a.unsafe(`alter system set ssl_cert_file = ${literal(files.serverCert)}`)
    await a.unsafe(`alter system set ssl_key_file = ${literal(files.serverKey)}`)
    await a`alter system set ssl = on`
    await a`select pg_reload_conf()`
  })
  try {
    const url = new URL(testStack().dbUrl)
    url.searchParams.set('sslmode', 'verify-full')
    url.searchParams.set('sslrootcert', files.ca)
    // The reload reaches the postmaster a moment later: until then it declines TLS.
    const { value: verified } = await eventually(
      async () => {
        const state = await tlsOf(url).catch(() => null)
        return state?.ssl === true && state
      },
      { timeoutMs: 5_000, intervalMs: 100, what: 'a TLS connection after the reload' },
    )
    assert(String(verified.version).startsWith('TLSv1.'), String(verified.version))
    url.searchParams.set('sslmode', 'verify-ca')
    assertEquals((await tlsOf(url)).ssl, true, 'verify-ca')
    // A name the certificate does not carry (it names 127.0.0.1 only): verify-full refuses,
    // verify-ca (the chain only) accepts.
    url.hostname = 'localhost'
    assertEquals((await tlsOf(url)).ssl, true, 'verify-ca, another name')
    url.searchParams.set('sslmode', 'verify-full')
    await assertRejects(() => tlsOf(url))
    url.hostname = '127.0.0.1'
    // No root given: the system's roots, which do not know this CA.
    url.searchParams.delete('sslrootcert')
    url.searchParams.set('sslmode', 'verify-full')
    await assertRejects(() => tlsOf(url))
    url.searchParams.set('sslmode', 'require')
    assertEquals((await tlsOf(url)).ssl, true, 'require: encrypted, not verified')
    url.searchParams.set('sslmode', 'disable')
    assertEquals((await tlsOf(url)).ssl, false, 'disable')
    // A root file that cannot be read: refused, never plaintext.
    url.searchParams.set('sslmode', 'verify-full')
    url.searchParams.set('sslrootcert', `${dir}/missing.pem`)
    await assertRejects(() => tlsOf(url))
  } finally {
    await admin(async (a) => {
      await a`alter system reset ssl`
      await a`alter system reset ssl_cert_file`
      await a`alter system reset ssl_key_file`
      await a`select pg_reload_conf()`
    })
    await Deno.remove(dir, { recursive: true })
  }
})

Deno.test({
  name:
    "a postgres.js client of the function's own (camel-case transform and all) handed as `database` -> GET /me 200 for a live session, 401 for a revoked one; the session check's connections are its own, named as the client names them",
  ignore: !hasAuthServer,
  async fn() {
    const stack = testStack()
    const { url, name } = namedUrl('byo', stack.functionsDbUrl)
    const own = postgres(url, { max: 2, prepare: false, transform: postgres.camel })
    const config = stackConfig({ EDGE_AUTH_SESSION_CACHE_TTL_MS: '0' })
    const auth = authFromConfig(config, { database: () => own })
    try {
      const user = await createTestUser({ stack })
      const [live, revoked] = await insertSessions(stack, user.id, 2)
      await admin((a) => a`delete from auth.sessions where id = ${revoked!}`)
      const app = createMeApp(config, { auth })
      const ok = await app.request(
        '/me',
        requestInit(undefined, await tokenFor(stack, user.id, live!)),
      )
      const body = await ok.text()
      assertEquals(ok.status, 200, body)
      assertEquals(JSON.parse(body).user.id, user.id)
      assertEquals(JSON.parse(body).session.id, live)
      const refused = await app.request(
        '/me',
        requestInit(undefined, await tokenFor(stack, user.id, revoked!)),
      )
      assertEquals(refused.status, 401)
      // The function's own client is untouched: its queries still camel-case.
      assertEquals([...await own`select 1 as some_column`], [{ someColumn: 1 }])
      assert(
        auth.database() === auth.database(),
        'one pool per instance, for the app and the check',
      )
      if (stack.database === 'direct') {
        const [row] = await admin((a) =>
          a`select count(*)::int as count from pg_stat_activity where application_name = ${name}`
        )
        assert(Number(row!.count) >= 1, 'the session check connected with the client settings')
      }
    } finally {
      await auth.close()
      await own.end()
    }
  },
})

Deno.test("a postgres.js client of the function's own on a server that never answers -> each query and transaction fails DATABASE_TIMEOUT within the budget (generated budgets), 503-class", async () => {
  const silent = silentListener()
  try {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 100, max: 500 }), async (budget) => {
        const own = postgres(`postgres://u:p@127.0.0.1:${silent.port}/db`, { max: 3 })
        const sql = withDeadlines(own, budget)
        try {
          const started = performance.now()
          const failures = await Promise.all([
            sql`select 1`.then(() => null, (error) => error),
            sql.begin((tx) => tx`select 1`).then(() => null, (error) => error),
          ])
          const ms = performance.now() - started
          for (const error of failures) {
            assertEquals((error as { code?: string } | null)?.code, DATABASE_TIMEOUT)
          }
          assert(ms >= budget - 5 && ms < budget + 250, `budget ${budget}: ${Math.round(ms)} ms`)
        } finally {
          await sql.end()
          await own.end({ timeout: 0 })
        }
      }),
      { numRuns: 6 },
    )
  } finally {
    silent.close()
  }
})
