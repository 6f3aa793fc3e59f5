// The functions' PostgreSQL client against the real server (and, in the pooler lane, PgBouncer in
// transaction mode): values round-trip exactly, transactions commit or roll back, the pool stays
// within its size, a connection the server ends is replaced, and every failure is a coded error
// that never carries the password. Servers that misbehave in ways PostgreSQL never does are
// scripted sockets: the only fakes here.
import { assert, assertEquals, assertRejects } from '@std/assert'
import fc from 'fast-check'
import postgres from 'postgres'
import { createDatabaseClient, type Sql } from '../../functions/_shared/db/database.ts'
import { isDatabaseUnavailable } from '../../functions/_shared/db/database_errors.ts'
import { DatabaseConnectionError, PostgresError } from '../../functions/_shared/db/pg_errors.ts'
import { closedPort } from '../_helpers/local_server.ts'
import { authenticationMessage, backendMessage } from '../_helpers/pg_messages.ts'
import { testStack } from '../_helpers/stack.ts'
import { postgresOwner } from '../../supabase/local/postgres.ts'
import { runCommand } from '../../supabase/local/processes.ts'
import { eventually } from '../_helpers/poll.ts'

const PASSWORD_MARK = 'do-not-leak-7c1f'

function withPassword(url: string, password: string): string {
  const parsed = new URL(url)
  parsed.password = password
  return parsed.href
}

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
function namedUrl(prefix: string): { url: string; name: string } {
  const name = `${prefix}-${crypto.randomUUID().slice(0, 8)}`
  const url = new URL(testStack().dbUrl)
  url.searchParams.set('application_name', name)
  return { url: url.href, name }
}

/** Ends, from the server side, every session with this application name. */
function terminateSessions(name: string): Promise<unknown> {
  return admin((a) =>
    a`select pg_terminate_backend(pid) from pg_stat_activity where application_name = ${name}`
  )
}

/** A superuser connection straight to PostgreSQL, to watch and end the client's sessions. */
async function admin<T>(work: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(testStack().dbUrl, { max: 1, onnotice: () => {} })
  try {
    return await work(sql)
  } finally {
    await sql.end()
  }
}

Deno.test('text of any Unicode, int8, numeric, json, timestamps and NULL round-trip exactly (generated)', async () => {
  await using(createDatabaseClient(testStack().functionsDbUrl, { max: 2 }), async (sql) => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'grapheme', maxLength: 200 }).filter((s) => !s.includes('\0')),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        fc.date({ min: new Date('1000-01-01Z'), max: new Date('9000-01-01Z') }),
        fc.jsonValue(),
        async (text, big, date, json) => {
          if (Number.isNaN(date.getTime())) return
          const [row] = await sql`
            select ${text}::text as text, ${big}::int8 as big, ${big.toString()}::numeric as num,
                   ${date}::timestamptz as date, ${JSON.stringify(json)}::jsonb as json,
                   ${null}::text as nothing, length(${text}::text) as length`
          assertEquals(row, {
            text,
            big: big.toString(),
            num: big.toString(),
            date,
            json: JSON.parse(JSON.stringify(json)),
            nothing: null,
            length: [...text].length,
          })
        },
      ),
      { numRuns: 150 },
    )
  })
})

Deno.test('text beginning with U+FEFF, or made only of it, round-trips: a byte-order mark in a value is data', async () => {
  await using(createDatabaseClient(testStack().functionsDbUrl, { max: 1 }), async (sql) => {
    for (const text of ['\uFEFF', '\uFEFFnote', '\uFEFF\uFEFF', 'a\uFEFF', '\uFFFE\uFEFF']) {
      const rows = await sql`select ${text}::text as text, ${text}::text || '' as copy`
      assertEquals(rows, [{ text, copy: text }])
    }
  })
})

Deno.test('a value is a parameter, never SQL: quotes, comments and $1 in strings stay data (generated)', async () => {
  await using(createDatabaseClient(testStack().functionsDbUrl, { max: 1 }), async (sql) => {
    const hostile = fc.constantFrom(
      "'",
      "''",
      '--',
      '/*',
      '*/',
      ';',
      '$1',
      '$$',
      '\\',
      '"',
      ' or 1=1',
    )
    await fc.assert(
      fc.asyncProperty(fc.array(hostile, { minLength: 1, maxLength: 6 }), async (parts) => {
        const value = parts.join('')
        const rows = await sql`select ${value}::text as v, ${value}::text = ${value} as same`
        assertEquals(rows, [{ v: value, same: true }])
      }),
      { numRuns: 200 },
    )
  })
})

Deno.test('a transaction commits when its work resolves and rolls back when it throws or fails inside', async () => {
  await using(createDatabaseClient(testStack().dbUrl, { max: 1 }), async (sql) => {
    const table = `pg_client_${crypto.randomUUID().replaceAll('-', '')}`
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
      // A failed statement caught inside the work: PostgreSQL rolls back even on commit.
      await assertRejects(
        () =>
          sql.begin(async (tx) => {
            await tx`insert into ${tx.unsafe(table)} values (3)`
            await tx`insert into ${tx.unsafe(table)} values (1)`.catch(() => {})
          }),
        Error,
        'The transaction was rolled back',
      )
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

Deno.test('the pool opens at most its size, whatever the number of concurrent queries', async () => {
  const { url, name } = namedUrl('pool')
  await using(createDatabaseClient(url, { max: 3 }), async (sql) => {
    let peak = 0
    const queries = Array.from({ length: 12 }, (_, i) => sql`select pg_sleep(0.05), ${i}::int as i`)
    const counting = admin(async (a) => {
      for (let i = 0; i < 8; i++) {
        const [row] = await a`
          select count(*)::int as count from pg_stat_activity where application_name = ${name}`
        peak = Math.max(peak, Number(row!.count))
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    })
    const rows = await Promise.all(queries)
    await counting
    assertEquals(rows.map((r) => r[0]!.i), [...Array(12).keys()])
    assert(peak >= 1 && peak <= 3, `peak ${peak} connections`)
  })
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
  await using(createDatabaseClient(url, { max: 1 }), async (sql) => {
    // Its failure is taken as soon as it happens: the client rejects it while the admin works.
    const slow = sql`select pg_sleep(5)`.then(() => null, (error: unknown) => error)
    await new Promise((resolve) => setTimeout(resolve, 200))
    await terminateSessions(name)
    const error = await slow
    assert(isDatabaseUnavailable(error), `unavailable: ${(error as Error).message}`)
    assertEquals(await sql`select 3 as three`, [{ three: 3 }])
  })
})

Deno.test('a wrong password -> 28P01 from PostgreSQL (08P01 from PgBouncer), the password in no message', async () => {
  const url = withPassword(testStack().functionsDbUrl, PASSWORD_MARK)
  await using(createDatabaseClient(url, { max: 1 }), async (sql) => {
    const error = await assertRejects(() => sql`select 1`, PostgresError)
    // PostgreSQL says invalid_password; PgBouncer (the pooler lane) reports a protocol violation.
    const expected = testStack().database === 'direct' ? '28P01' : '08P01'
    assertEquals((error as PostgresError).code, expected)
    assert(!JSON.stringify([error.message, error.stack, String(error)]).includes(PASSWORD_MARK))
  })
})

Deno.test('nothing listening -> ECONNREFUSED at once, classified unavailable', async () => {
  const url = `postgres://u:${PASSWORD_MARK}@127.0.0.1:${closedPort()}/db`
  await using(createDatabaseClient(url, { max: 1 }), async (sql) => {
    const error = await assertRejects(() => sql`select 1`, DatabaseConnectionError)
    assertEquals((error as DatabaseConnectionError).code, 'ECONNREFUSED')
    assert(isDatabaseUnavailable(error))
    assert(!error.message.includes(PASSWORD_MARK))
  })
})

/** A TCP server that runs `script` for each connection: servers PostgreSQL never is. */
function scriptedServer(script: (conn: Deno.Conn) => Promise<void>) {
  const listener = Deno.listen({ hostname: '127.0.0.1', port: 0 })
  const conns: Deno.Conn[] = []
  const serving = (async () => {
    for await (const conn of listener) {
      conns.push(conn)
      script(conn).catch(() => {})
    }
  })()
  return {
    url: (query = '') => `postgres://u:${PASSWORD_MARK}@127.0.0.1:${listener.addr.port}/db${query}`,
    async close() {
      listener.close()
      for (const conn of conns) {
        try {
          conn.close()
        } catch { /* closed */ }
      }
      await serving.catch(() => {})
    },
  }
}

async function readSome(conn: Deno.Conn): Promise<void> {
  await conn.read(new Uint8Array(4096))
}

/** Reads the client's SASLInitialResponse and answers with a challenge its nonce extends. */
async function scramChallenge(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(4096)
  const count = (await conn.read(buffer)) ?? 0
  const nonce = /r=([^,\0]+)/.exec(new TextDecoder().decode(buffer.subarray(0, count)))?.[1] ?? ''
  const challenge = `r=${nonce}server,s=c2FsdHNhbHQ=,i=4096`
  await conn.write(authenticationMessage(11, new TextEncoder().encode(challenge)))
}

function fatal(code: string): Uint8Array {
  const fields = `SFATAL\0VFATAL\0C${code}\0Mterminating connection\0\0`
  return backendMessage('E', new TextEncoder().encode(fields))
}

const READY = backendMessage('Z', new TextEncoder().encode('I')) // ReadyForQuery, idle

const MISBEHAVING: [string, (conn: Deno.Conn) => Promise<void>, string, string?][] = [
  ['never answers', async (conn) => await readSome(conn), 'CONNECT_TIMEOUT'],
  ['asks for an md5 password', async (conn) => {
    await readSome(conn)
    await conn.write(authenticationMessage(5, new Uint8Array([1, 2, 3, 4])))
  }, 'AUTHENTICATION_UNSUPPORTED'],
  ['sends garbage', async (conn) => {
    await readSome(conn)
    await conn.write(new TextEncoder().encode('HTTP/1.1 400 Bad Request\r\n\r\n'))
  }, 'PROTOCOL_VIOLATION'],
  ['closes at once', async (conn) => {
    await readSome(conn)
    conn.close()
  }, 'CONNECTION_CLOSED'],
  ['answers SCRAM with a nonce that is not ours', async (conn) => {
    await readSome(conn)
    const mechanism = new TextEncoder().encode('SCRAM-SHA-256\0\0')
    await conn.write(authenticationMessage(10, mechanism))
    await readSome(conn)
    await conn.write(
      authenticationMessage(11, new TextEncoder().encode('r=forged,s=c2FsdA==,i=4096')),
    )
  }, 'PROTOCOL_VIOLATION'],
  ['ends SCRAM with AuthenticationOk, skipping its own proof', async (conn) => {
    await readSome(conn)
    await conn.write(authenticationMessage(10, new TextEncoder().encode('SCRAM-SHA-256\0\0')))
    await scramChallenge(conn)
    await readSome(conn)
    await conn.write(authenticationMessage(0))
    await conn.write(READY)
    // Then nothing more: a client that took that for a login fails with a closed connection.
    conn.close()
  }, 'PROTOCOL_VIOLATION'],
  ['asks for the password in cleartext on an unencrypted connection', async (conn) => {
    await readSome(conn)
    await conn.write(authenticationMessage(3))
  }, 'AUTHENTICATION_UNSUPPORTED'],
  ['accepts the login, then ends the session at once (FATAL 57P01)', async (conn) => {
    await readSome(conn)
    await conn.write(authenticationMessage(0))
    await conn.write(READY)
    await conn.write(fatal('57P01'))
    conn.close()
  }, 'CONNECTION_CLOSED'],
  [
    'says yes to TLS, then never completes the handshake',
    async (conn) => {
      await readSome(conn)
      await conn.write(new Uint8Array([0x53]))
      await readSome(conn)
    },
    'CONNECT_TIMEOUT',
    '&sslmode=require',
  ],
]

for (const [behaviour, script, code, query = ''] of MISBEHAVING) {
  Deno.test(`a server that ${behaviour} -> ${code} within the connect timeout, no password in it, the pool not stuck`, async () => {
    const server = scriptedServer(script)
    try {
      const url = server.url(`?connect_timeout=1${query}`)
      await using(createDatabaseClient(url, { max: 1 }), async (sql) => {
        for (const attempt of ['first', 'second']) {
          const started = performance.now()
          const error = await assertRejects(() => sql`select 1`)
          assert(performance.now() - started < 3000, `${attempt}: bounded by the connect timeout`)
          assertEquals((error as DatabaseConnectionError).code, code, (error as Error).message)
          assert(!String((error as Error).message).includes(PASSWORD_MARK))
        }
      })
    } finally {
      await server.close()
    }
  })
}

Deno.test('sslmode=require on a server without TLS -> TLS_UNAVAILABLE; sslmode=prefer -> plain connection', async () => {
  const url = new URL(testStack().functionsDbUrl)
  url.searchParams.set('sslmode', 'require')
  await using(createDatabaseClient(url.href, { max: 1 }), async (sql) => {
    const error = await assertRejects(() => sql`select 1`, DatabaseConnectionError)
    assertEquals((error as DatabaseConnectionError).code, 'TLS_UNAVAILABLE')
  })
  url.searchParams.set('sslmode', 'prefer')
  await using(createDatabaseClient(url.href, { max: 1 }), async (sql) => {
    assertEquals(await sql`select 1 as one`, [{ one: 1 }])
  })
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
    '-keyout',
    ca.key,
    '-out',
    ca.cert,
    '-days',
    '1',
    '-subj',
    '/CN=edge-auth test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
  ])
  await run('openssl', [
    'req',
    ...ec,
    '-keyout',
    server.key,
    '-out',
    server.csr,
    '-subj',
    '/CN=127.0.0.1',
  ])
  const extensions = `${dir}/server.ext`
  await Deno.writeTextFile(extensions, 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    server.csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-out',
    server.cert,
    '-days',
    '1',
    '-extfile',
    extensions,
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

Deno.test('TLS against PostgreSQL with a generated CA: verify-full with sslrootcert encrypts, no root given -> TLS_FAILED, never plaintext', async () => {
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
    const { value: row } = await eventually(async () => {
      const sql = createDatabaseClient(url.href, { max: 1 })
      const rows = await sql`select ssl, version from pg_stat_ssl where pid = pg_backend_pid()`
        .catch(() => [])
        .finally(() => sql.end())
      return rows[0]?.ssl === true && rows[0]
    }, { timeoutMs: 5_000, intervalMs: 100, what: 'a TLS connection after the reload' })
    assertEquals(row.ssl, true)
    assert(String(row.version).startsWith('TLSv1.'), String(row.version))
    url.searchParams.delete('sslrootcert')
    for (const mode of ['require', 'prefer']) {
      url.searchParams.set('sslmode', mode)
      await using(createDatabaseClient(url.href, { max: 1 }), async (sql) => {
        const error = await assertRejects(() => sql`select 1`, DatabaseConnectionError)
        assertEquals((error as DatabaseConnectionError).code, 'TLS_FAILED', mode)
      })
    }
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
