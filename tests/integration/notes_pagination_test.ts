// Keyset pagination of GET /notes returns every row exactly once, for any page size, while notes
// are created and deleted concurrently: notes created in parallel share milliseconds (PostgreSQL
// keeps microseconds), which is where a cursor of millisecond precision skipped rows.
import { assert, assertEquals } from '@std/assert'
import fc from 'fast-check'
import {
  callFunction,
  createTestUser,
  hasAuthServer,
  loginUser,
  requestInit,
} from '../_helpers/stack.ts'

interface Page {
  notes: { id: string; body: string }[]
  next_cursor: string | null
}

async function page(token: string, limit: number, cursor: string | null): Promise<Page> {
  const query = `limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`
  const response = await callFunction(`notes?${query}`, requestInit(undefined, token))
  const text = await response.text()
  assertEquals(response.status, 200, text)
  return JSON.parse(text) as Page
}

async function create(token: string, body: string): Promise<string> {
  const response = await callFunction('notes', requestInit({ body }, token))
  const text = await response.text()
  assertEquals(response.status, 201, text)
  return (JSON.parse(text) as { id: string }).id
}

async function remove(token: string, id: string): Promise<void> {
  const response = await callFunction(`notes/${id}`, requestInit(undefined, token, 'DELETE'))
  await response.body?.cancel()
  assertEquals(response.status, 204)
}

Deno.test({
  name:
    'GET /notes pages through notes created in parallel: every note exactly once, for random page sizes, with concurrent inserts and deletes',
  ignore: !hasAuthServer,
  async fn() {
    const seed = Number(Deno.env.get('EDGE_AUTH_FUZZ_SEED') ?? Date.now() % 2 ** 31)
    console.log(`pagination property seed ${seed}`)
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 10, max: 40 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 0, max: 3 }),
        async (count, limits, churn) => {
          const user = await createTestUser()
          const { access_token: token } = await loginUser(user)
          // All at once: many share a millisecond.
          const ids = await Promise.all(
            Array.from({ length: count }, (_, i) => create(token, `note ${i}`)),
          )
          const toDelete = new Set(ids.filter((_, i) => i % 5 === churn))
          const seen: string[] = []
          const deleted = new Set<string>()
          let cursor: string | null = null
          let step = 0
          do {
            const limit = limits[step % limits.length]!
            const result: Page = await page(token, limit, cursor)
            assert(result.notes.length <= limit)
            seen.push(...result.notes.map((note) => note.id))
            cursor = result.next_cursor
            // Between pages: a new note (newer than every cursor, so never on a later page) and
            // a deletion of a note not seen yet.
            await create(token, `late ${step}`)
            const victim = [...toDelete].find((id) => !seen.includes(id) && !deleted.has(id))
            if (victim) {
              await remove(token, victim)
              deleted.add(victim)
            }
            step++
          } while (cursor !== null && step < 200)
          assertEquals(cursor, null, 'paging ends')
          const expected = ids.filter((id) => !deleted.has(id))
          assertEquals(new Set(seen).size, seen.length, 'no note twice')
          assertEquals([...seen].sort(), [...expected].sort(), 'every surviving note once')
        },
      ),
      { seed, numRuns: 8 },
    )
  },
})
