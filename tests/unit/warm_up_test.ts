// Warm-up is an explicit call: `auth.warmUp()` starts the session check's first revocation poll
// (and so its database connection) at once, so a cold instance's first request waits for neither.
// The served entry of a function whose routes check sessions makes that call; nothing else
// polls before a request needs it (an app built in a test or a script, a route that takes tokens
// or API keys only).
import { assert, assertEquals } from '@std/assert'
import type { RevocationFeed } from '../../functions/_shared/core/deps.ts'
import { authFromConfig } from '../../functions/_shared/auth/from_env.ts'
import { requireCredentials, requireUser } from '../../functions/_shared/hono/adapter.ts'
import { createMeApp } from '../../functions/me/app.ts'
import { createLoginApp } from '../../functions/login/app.ts'
import { testConfig } from '../_helpers/jwks_server.ts'

function countingFeed(): { feed: RevocationFeed; readonly polls: number } {
  let polls = 0
  return {
    feed: () => {
      polls++
      return Promise.resolve({ watermark: '100', entries: [] })
    },
    get polls() {
      return polls
    },
  }
}

const sessionStore = () => Promise.resolve('live' as const)
const config = testConfig({ SUPABASE_DB_URL: 'postgres://u@127.0.0.1:1/db' })
const settle = () => new Promise((resolve) => setTimeout(resolve, 0))
type Auth = ReturnType<typeof authFromConfig>

Deno.test('me served: auth.warmUp() at boot -> one revocation poll, before any request', async () => {
  const counter = countingFeed()
  const auth = authFromConfig(config, { sessionStore, revocationFeed: counter.feed })
  auth.warmUp()
  createMeApp(config, { auth })
  await settle()
  assertEquals(counter.polls, 1)
})

Deno.test('me built without warmUp() (a test, a script) -> no poll until a request', async () => {
  const counter = countingFeed()
  createMeApp(config, { sessionStore, revocationFeed: counter.feed })
  await settle()
  assertEquals(counter.polls, 0)
})

Deno.test('routes that take tokens only, or API keys only, -> building them polls nothing', async () => {
  for (
    const declare of [
      (auth: Auth) => requireUser(auth, { session: 'token' }),
      (auth: Auth) => requireCredentials(auth, ['secret']),
      (auth: Auth) => requireCredentials(auth, ['user', 'secret']),
      (_auth: Auth) => createLoginApp(config),
    ]
  ) {
    const counter = countingFeed()
    declare(authFromConfig(config, { sessionStore, revocationFeed: counter.feed }))
    await settle()
    assertEquals(counter.polls, 0)
  }
})

Deno.test('warmUp() twice, or on an instance without a session check -> one poll at most, nothing without', async () => {
  const counter = countingFeed()
  const auth = authFromConfig(config, { sessionStore, revocationFeed: counter.feed })
  auth.warmUp()
  auth.warmUp()
  await settle()
  assertEquals(counter.polls, 1)
  // No database and no store: nothing to warm, and no error.
  authFromConfig(testConfig()).warmUp()
})

Deno.test('a failed poll at boot is left to the first request: no unhandled rejection', async () => {
  let polls = 0
  const failing: RevocationFeed = () => {
    polls++
    return Promise.reject(new Error('database down'))
  }
  authFromConfig(config, { sessionStore, revocationFeed: failing }).warmUp()
  await settle()
  assertEquals(polls, 1)
})

// The entries are what warms up: each function whose app checks sessions calls warmUp() in its
// index.ts, and no other does (a token-only or key-only function would open a connection for
// nothing).
const FUNCTIONS = [...Deno.readDirSync(new URL('../../functions/', import.meta.url))]
  .filter((entry) => entry.isDirectory && !entry.name.startsWith('_'))
  .map((entry) => entry.name)

Deno.test(`the served entries of functions whose routes check sessions call auth.warmUp(), and only those (${FUNCTIONS.join(', ')})`, async () => {
  assert(FUNCTIONS.length >= 8, FUNCTIONS.join(', '))
  for (const name of FUNCTIONS) {
    const dir = new URL(`../../functions/${name}/`, import.meta.url)
    const app = await Deno.readTextFile(new URL('app.ts', dir))
    const entry = await Deno.readTextFile(new URL('index.ts', dir))
    const checks = /session: 'check'/.test(app)
    assertEquals(/\.warmUp\(\)/.test(entry), checks, `${name}: checks sessions = ${checks}`)
  }
})
