// The connection URL as postgres.js options: libpq's names and meanings for the settings it
// reads, everything else left out of what reaches the server, credentials percent-decoded, and
// no message that quotes the URL. The guard against postgres.js's deferred-write crash lets any
// other uncaught error through.
import { assert, assertEquals, assertThrows } from '@std/assert'
import fc from 'fast-check'
import {
  connectionSettings,
  postgresOptions,
  sslOption,
} from '../../functions/_shared/db/postgres_options.ts'
import {
  guardDeferredWrites,
  isDeferredWriteCrash,
} from '../../functions/_shared/db/write_crash_guard.ts'

const DEFAULTS = { applicationName: 'edge-auth', connectTimeoutSeconds: 3 }
const session = { onclose: () => {}, idleTimeoutSeconds: 20 }

Deno.test("a Supabase pooler URL -> host, port, decoded credentials, database, libpq's query settings", () => {
  const settings = connectionSettings(
    'postgresql://postgres.ref:p%40ss%3Aw%2Frd@aws-0-eu.pooler.supabase.com:6543/postgres?sslmode=verify-full&sslrootcert=/ca.crt&connect_timeout=5&application_name=app',
    DEFAULTS,
  )
  assertEquals(settings, {
    host: 'aws-0-eu.pooler.supabase.com',
    port: 6543,
    user: 'postgres.ref',
    password: 'p@ss:w/rd',
    database: 'postgres',
    applicationName: 'app',
    sslMode: 'verify-full',
    rootCertificateFile: '/ca.crt',
    connectTimeoutSeconds: 5,
  })
})

Deno.test('defaults: port 5432, user and database postgres, sslmode disable, the given application name and connect timeout; an IPv6 literal bare', () => {
  assertEquals(connectionSettings('postgres://[::1]', DEFAULTS), {
    host: '::1',
    port: 5432,
    user: 'postgres',
    password: '',
    database: 'postgres',
    applicationName: 'edge-auth',
    sslMode: 'disable',
    connectTimeoutSeconds: 3,
  })
})

Deno.test('what reaches the server: only user, database, application_name (no sslrootcert or unknown setting, which PostgreSQL would refuse the connection for); one connection, unnamed statements, no type lookup, no transforms', () => {
  const settings = connectionSettings(
    'postgres://u:p@db:5433/d?sslrootcert=/ca.pem&pgbouncer=true&options=-c%20x%3D1',
    DEFAULTS,
  )
  const options = postgresOptions(settings, false, session)
  assertEquals(options.connection, { application_name: 'edge-auth' })
  assertEquals(options.host, ['db'] as unknown as string)
  assertEquals(options.port, [5433] as unknown as number)
  assertEquals(
    [options.max, options.prepare, options.fetch_types, options.idle_timeout],
    [1, false, false, 20],
  )
  assertEquals(options.transform, { undefined: null })
})

Deno.test('sslmode -> postgres.js ssl: disable none; allow, prefer, require unverified; verify-ca the chain; verify-full the chain and the host; sslrootcert read as the root (require with it verifies, as in libpq)', async () => {
  const read = (path: string) => Promise.resolve(`PEM of ${path}`)
  const ssl = (query: string) =>
    sslOption(connectionSettings(`postgres://u@db.example/d?${query}`, DEFAULTS), read)
  assertEquals(await ssl(''), false)
  assertEquals(await ssl('sslmode=disable'), false)
  assertEquals(await ssl('sslmode=allow'), 'prefer')
  assertEquals(await ssl('sslmode=prefer'), 'prefer')
  assertEquals(await ssl('sslmode=require'), 'require')
  assertEquals(await ssl('sslmode=verify-full'), {
    rejectUnauthorized: true,
    host: 'db.example',
  })
  const full = await ssl('sslmode=verify-full&sslrootcert=/ca.pem')
  assertEquals(full, { rejectUnauthorized: true, ca: ['PEM of /ca.pem'], host: 'db.example' })
  for (const mode of ['verify-ca', 'require']) {
    const chain = await ssl(`sslmode=${mode}&sslrootcert=/ca.pem`) as Record<string, unknown>
    assertEquals(chain.rejectUnauthorized, true, mode)
    assertEquals(chain.ca, ['PEM of /ca.pem'], mode)
    // The host name is not checked.
    assertEquals((chain.checkServerIdentity as () => unknown)(), undefined, mode)
  }
})

Deno.test('a URL that is not usable -> TypeError naming the part, never quoting the URL (generated secrets)', () => {
  fc.assert(
    fc.property(
      fc.stringMatching(/^[A-Za-z0-9]{12,24}$/),
      fc.constantFrom(
        (secret: string) => `mysql://u:${secret}@h/d`,
        (secret: string) => `postgres://u:${secret}@h/d?sslmode=sometimes`,
        (secret: string) => `postgres://u:${secret}@h/d?connect_timeout=0`,
        (secret: string) => `postgres://u:${secret}@h/d?connect_timeout=soon`,
        (secret: string) => `postgres://u:${secret}%E0%A4%A@h/d`,
        (secret: string) => `postgres://u:${secret}@/d`,
        (secret: string) => `not a url ${secret}`,
      ),
      (secret, make) => {
        const error = assertThrows(() => connectionSettings(make(secret), DEFAULTS), TypeError)
        assert(!error.message.includes(secret), error.message)
      },
    ),
  )
})

/** Dispatches `error` as the runtime dispatches an uncaught one. */
function uncaught(error: Error): ErrorEvent {
  const event = new ErrorEvent('error', { error, message: error.message, cancelable: true })
  globalThis.dispatchEvent(event)
  return event
}

Deno.test('the deferred-write guard recognises that crash only: the null socket in nextWrite of postgres.js; any other uncaught error (generated messages) still ends the isolate', () => {
  const crash = new TypeError("Cannot read properties of null (reading 'write')")
  crash.stack =
    `${crash.message}\n    at nextWrite (file:///npm/postgres/3.4.9/src/connection.js:255:22)`
  assert(isDeferredWriteCrash(crash))
  guardDeferredWrites()
  const seen: { event: ErrorEvent; cancelled: boolean }[] = []
  // A listener added after the guard sees whether the guard cancelled the event; it cancels it
  // itself then, so that the test run survives.
  const observe = (event: ErrorEvent) => {
    seen.push({ event, cancelled: event.defaultPrevented })
    event.preventDefault()
  }
  globalThis.addEventListener('error', observe)
  try {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string().map((message) => new TypeError(message)),
          fc.string().map((message) => new Error(message)),
          // The same message from anywhere but postgres.js's write.
          fc.constant(new TypeError("Cannot read properties of null (reading 'write')")),
        ),
        (error) => {
          const event = uncaught(error)
          assert(seen.at(-1)?.event === event, 'the event reached the later listener')
          assertEquals(seen.at(-1)!.cancelled, false, 'the guard cancelled another error')
          assert(!isDeferredWriteCrash(error))
        },
      ),
    )
    const event = uncaught(crash)
    assert(seen.at(-1)?.event === event)
    assertEquals(seen.at(-1)!.cancelled, true, 'the guard kept the crash from ending the isolate')
  } finally {
    globalThis.removeEventListener('error', observe)
  }
})
