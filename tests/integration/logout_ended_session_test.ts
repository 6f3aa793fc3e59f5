// A session that no longer exists grants nothing: a logout whose own session has already ended is
// a 204 that ends nothing, whatever the scope, and whether the token is still valid (the auth
// server's path) or expired (the SQL path the function takes for expired tokens).
import { assertEquals } from '@std/assert'
import { decodeJwt } from 'jose'
import postgres from 'postgres'
import {
  callFunction,
  createTestUser,
  expiredTokenFor,
  hasAuthServer,
  loginUser,
  requestInit,
  testStack,
} from '../_helpers/stack.ts'

const SCOPES = ['global', 'local', 'others'] as const
const PATHS = ['unexpired token (auth server)', 'expired token (SQL)'] as const

async function sessionIds(userId: string): Promise<string[]> {
  const sql = postgres(testStack().dbUrl, { max: 1, onnotice: () => {} })
  try {
    const rows = await sql`select id from auth.sessions where user_id = ${userId} order by id`
    return rows.map((row) => String(row.id))
  } finally {
    await sql.end()
  }
}

for (const path of PATHS) {
  for (const scope of SCOPES) {
    Deno.test({
      name:
        `POST /logout?scope=${scope} with an ${path} whose session already ended -> 204, no other session of the user ends`,
      ignore: !hasAuthServer,
      async fn() {
        const user = await createTestUser()
        const ended = await loginUser(user)
        const others = [await loginUser(user), await loginUser(user)]
        const live = others.map((session) => String(decodeJwt(session.access_token).session_id))

        const first = await callFunction(
          'logout?scope=local',
          requestInit(undefined, ended.access_token, 'POST'),
        )
        assertEquals(first.status, 204)
        assertEquals(await sessionIds(user.id), [...live].sort())

        const token = path === 'expired token (SQL)'
          ? await expiredTokenFor(ended.access_token)
          : ended.access_token
        const again = await callFunction(
          `logout?scope=${scope}`,
          requestInit(undefined, token, 'POST'),
        )
        assertEquals(again.status, 204, await again.text())
        assertEquals(again.headers.get('Cache-Control'), 'no-store')
        assertEquals(await sessionIds(user.id), [...live].sort())
      },
    })
  }
}
