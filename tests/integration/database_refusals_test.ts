// Database refusals that are neither the caller's fault nor a bug of ours: a user deleted under a
// cached session (401 session revoked), a read-only database and a pooler refusing connections
// (503 with Retry-After); never a 500 `server_error`.
import { assert, assertEquals } from '@std/assert'
import { authFromConfig } from '../../functions/_shared/auth/from_env.ts'
import { createLogoutApp } from '../../functions/logout/app.ts'
import { createNotesApp } from '../../functions/notes/app.ts'
import { createSessionsApp } from '../../functions/sessions/app.ts'
import { backendMessage } from '../_helpers/pg_messages.ts'
import { insertSessions, tokenFor, withAdmin } from '../_helpers/db_faults.ts'
import { createTestUser, hasAuthServer, stackConfig, testStack } from '../_helpers/stack.ts'

const ignore = !hasAuthServer

/** Status and body of a response, for messages. */
async function outcome(response: Response): Promise<string> {
  return `${response.status} ${await response.text()}`
}

Deno.test({
  name:
    'POST /notes within the session cache TTL after the user was deleted (23503 on notes.user_id) -> 401 or 503, never 500',
  ignore,
  async fn() {
    const stack = testStack()
    const config = stackConfig({ EDGE_AUTH_SESSION_CACHE_TTL_MS: '5000' })
    const auth = authFromConfig(config)
    const app = createNotesApp(config, { auth })
    try {
      const failures: string[] = []
      for (let i = 0; i < 3; i++) {
        const user = await createTestUser()
        const [session] = await insertSessions(stack, user.id, 1)
        const token = await tokenFor(stack, user.id, session!)
        const headers = { Authorization: `Bearer ${token}` }
        const list = await app.request('/notes', { headers })
        assertEquals(list.status, 200, await list.text())
        await withAdmin(stack, (sql) => sql`delete from auth.users where id = ${user.id}`)
        const response = await app.request('/notes', {
          method: 'POST',
          headers: { ...headers, 'Content-Type': 'application/json' },
          body: JSON.stringify({ body: 'after the user was deleted' }),
        })
        const text = await outcome(response)
        if (response.status === 500) failures.push(text)
      }
      assertEquals(failures, [])
    } finally {
      await auth.close()
    }
  },
})

Deno.test({
  name:
    "a read-only database (25006, Supabase's disk-full read-only mode, a standby after failover) -> POST /notes, logout's database path and POST /sessions/revoke 503, never 500",
  ignore,
  async fn() {
    const stack = testStack()
    const role = `review_ro_${crypto.randomUUID().slice(0, 8)}`
    await withAdmin(stack, async (sql) => {
      await sql.unsafe(`create role ${role} login superuser password 'review'`)
      await sql.unsafe(`alter role ${role} set default_transaction_read_only = on`)
    })
    const url = new URL(stack.dbUrl)
    url.username = role
    url.password = 'review'
    const config = stackConfig({ SUPABASE_DB_URL: url.toString() })
    // One instance, one pool, closed at the end.
    const auth = authFromConfig(config)
    try {
      const user = await createTestUser()
      const sessions = await insertSessions(stack, user.id, 2)
      const live = await tokenFor(stack, user.id, sessions[0]!)
      const expired = await tokenFor(stack, user.id, sessions[1]!, true)
      const results: Record<string, string> = {}
      const notes = await createNotesApp(config, { auth }).request('/notes', {
        method: 'POST',
        headers: { Authorization: `Bearer ${live}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ body: 'read-only' }),
      })
      results['POST /notes'] = await outcome(notes)
      const logout = await createLogoutApp(config, { auth }).request('/logout?scope=local', {
        method: 'POST',
        headers: { Authorization: `Bearer ${expired}` },
      })
      results['POST /logout (expired)'] = await outcome(logout)
      const revoke = await createSessionsApp(config, { auth }).request('/sessions/revoke', {
        method: 'POST',
        headers: { apikey: stack.secretKey, 'Content-Type': 'application/json' },
        body: JSON.stringify({ user_id: user.id }),
      })
      results['POST /sessions/revoke'] = await outcome(revoke)
      const wrong = Object.entries(results).filter(([, text]) => !text.startsWith('503 '))
      assertEquals(wrong, [], JSON.stringify(results))
    } finally {
      await auth.close()
      await withAdmin(stack, (sql) => sql.unsafe(`drop role if exists ${role}`))
    }
  },
})

/** A server that answers every startup as Supavisor does at its client limit: FATAL XX000. */
function refusingPooler(): { port: number; close(): void } {
  const listener = Deno.listen({ hostname: '127.0.0.1', port: 0 })
  const field = (type: string, text: string) => `${type}${text}\0`
  const body = new TextEncoder().encode(
    field('S', 'FATAL') + field('V', 'FATAL') + field('C', 'XX000') +
      field('M', '(EMAXCONN) max client connections reached, limit: 0') + '\0',
  )
  const refusal = backendMessage('E', body)
  ;(async () => {
    for await (const conn of listener) {
      ;(async () => {
        try {
          await conn.read(new Uint8Array(1024))
          await conn.write(refusal)
        } catch { /* the client went away */ }
        try {
          conn.close()
        } catch { /* already closed */ }
      })()
    }
  })().catch(() => {})
  return { port: (listener.addr as Deno.NetAddr).port, close: () => listener.close() }
}

Deno.test({
  name:
    "the transaction pooler refusing connections (Supavisor's FATAL XX000 EMAXCONN, its 53300) -> POST /notes, logout's database path and POST /sessions/revoke 503, never 500",
  ignore,
  async fn() {
    const stack = testStack()
    const pooler = refusingPooler()
    const config = stackConfig({
      SUPABASE_DB_URL: `postgres://postgres:postgres@127.0.0.1:${pooler.port}/postgres`,
    })
    const auth = authFromConfig(config, { sessionStore: () => Promise.resolve('live' as const) })
    try {
      const user = await createTestUser()
      const sessions = await insertSessions(stack, user.id, 2)
      const live = await tokenFor(stack, user.id, sessions[0]!)
      const expired = await tokenFor(stack, user.id, sessions[1]!, true)
      // The session check is not what is probed here: it already answers 503 for any failure.
      const deps = { auth }
      const results: Record<string, string> = {}
      results['POST /notes'] = await outcome(
        await createNotesApp(config, deps).request('/notes', {
          method: 'POST',
          headers: { Authorization: `Bearer ${live}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ body: 'refused' }),
        }),
      )
      results['POST /logout (expired)'] = await outcome(
        await createLogoutApp(config, deps).request('/logout?scope=local', {
          method: 'POST',
          headers: { Authorization: `Bearer ${expired}` },
        }),
      )
      results['POST /sessions/revoke'] = await outcome(
        await createSessionsApp(config, deps).request('/sessions/revoke', {
          method: 'POST',
          headers: { apikey: stack.secretKey, 'Content-Type': 'application/json' },
          body: JSON.stringify({ user_id: user.id }),
        }),
      )
      assert(Object.keys(results).length === 3)
      const wrong = Object.entries(results).filter(([, text]) => !text.startsWith('503 '))
      assertEquals(wrong, [], JSON.stringify(results))
    } finally {
      await auth.close()
      pooler.close()
    }
  },
})
