// A served function starts its session check's first revocation poll (and so its database
// connection) at boot, so a cold instance's first request waits for neither; a function without
// a session-check route, or an app built outside serveFunction (a test, a script), polls nothing
// until a request needs it.
import { assertEquals } from '@std/assert'
import type { RevocationFeed } from '../../functions/_shared/core/deps.ts'
import { createAuth, whileServing } from '../../functions/_shared/auth/authenticate.ts'
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

Deno.test('me built to be served -> one revocation poll at boot, before any request', async () => {
  const counter = countingFeed()
  whileServing(() => createMeApp(config, { sessionStore, revocationFeed: counter.feed }))
  await settle()
  assertEquals(counter.polls, 1)
})

Deno.test('me built outside serveFunction (a test, a script) -> no poll until a request', async () => {
  const counter = countingFeed()
  createMeApp(config, { sessionStore, revocationFeed: counter.feed })
  await settle()
  assertEquals(counter.polls, 0)
})

Deno.test('routes that take tokens only, or API keys only, -> no poll at boot even when served', async () => {
  for (
    const declare of [
      (auth: ReturnType<typeof createAuth>) => requireUser(auth, { session: 'token' }),
      (auth: ReturnType<typeof createAuth>) => requireCredentials(auth, ['secret']),
      (_auth: ReturnType<typeof createAuth>) => createLoginApp(config),
    ]
  ) {
    const counter = countingFeed()
    whileServing(() => declare(createAuth(config, { sessionStore, revocationFeed: counter.feed })))
    await settle()
    assertEquals(counter.polls, 0)
  }
})

Deno.test('a user route with a session check among other credentials -> one poll at boot when served', async () => {
  const counter = countingFeed()
  whileServing(() =>
    requireCredentials(createAuth(config, { sessionStore, revocationFeed: counter.feed }), [
      'user',
      'secret',
    ])
  )
  await settle()
  assertEquals(counter.polls, 1)
})

Deno.test('a failed poll at boot is left to the first request: no unhandled rejection', async () => {
  let polls = 0
  const failing: RevocationFeed = () => {
    polls++
    return Promise.reject(new Error('database down'))
  }
  whileServing(() => createMeApp(config, { sessionStore, revocationFeed: failing }))
  await settle()
  assertEquals(polls, 1)
})
