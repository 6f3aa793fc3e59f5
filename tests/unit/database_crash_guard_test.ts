// postgres.js 3.4.9 throws from a timer when a connection closes under a deferred write, where no
// await can catch it. The real driver does so only under a race with a closing pooler (the
// dependency-fault test on the pooler lane meets it about every other run), so the error is
// dispatched here as the runtime dispatches an uncaught one.
import { assert, assertEquals } from '@std/assert'
import { database } from '../../functions/_shared/db/database.ts'
import { testConfig } from '../_helpers/jwks_server.ts'

function uncaught(error: Error): ErrorEvent {
  const event = new ErrorEvent('error', { error, message: error.message, cancelable: true })
  globalThis.dispatchEvent(event)
  return event
}

function deferredWriteCrash(): TypeError {
  const error = new TypeError("Cannot read properties of null (reading 'write')")
  error.stack =
    `${error.message}\n    at nextWrite (file:///npm/postgres/3.4.9/src/connection.js:255:22)`
  return error
}

Deno.test('the driver crash on a closed connection is kept from ending the instance, and a fresh client follows', async () => {
  // No connection is opened: postgres.js connects on the first query only.
  const config = testConfig({ SUPABASE_DB_URL: 'postgres://nobody@127.0.0.1:1/none' })
  const before = database(config)
  assert(database(config) === before, 'one client per URL')
  const event = uncaught(deferredWriteCrash())
  assertEquals(event.defaultPrevented, true)
  const after = database(config)
  assert(after !== before, 'a fresh client after the crash')
  await Promise.all([before.end({ timeout: 0 }), after.end({ timeout: 0 })])
})

Deno.test('any other uncaught error still ends the instance (the guard lets it through)', () => {
  const config = testConfig({ SUPABASE_DB_URL: 'postgres://nobody@127.0.0.1:1/none' })
  const client = database(config)
  let seen: ErrorEvent | undefined
  // A listener added after the guard would see the event the guard did not cancel; it cancels it
  // itself so the test run survives.
  const observe = (event: ErrorEvent) => {
    seen = event
    assert(!event.defaultPrevented, 'the guard cancelled an unrelated error')
    event.preventDefault()
  }
  globalThis.addEventListener('error', observe)
  try {
    uncaught(new TypeError('something else'))
    assert(seen, 'the event reached the later listener')
    assert(database(config) === client, 'the client is kept')
  } finally {
    globalThis.removeEventListener('error', observe)
  }
})
