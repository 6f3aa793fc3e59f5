// Graceful shutdown under load, on a stack of this test's own: writers keep posting notes through
// the gateway while the functions host restarts (SIGTERM to it alone, as a redeploy), then while
// the whole stack stops. Every request must either finish (201) or fail cleanly (a refused
// connection, or the gateway's 502/503 JSON while the functions host is away), and every note
// answered 201 must be in public.notes afterwards (PostgreSQL is started again on the same data
// to count).
import { assert, assertEquals } from '@std/assert'
import postgres from 'postgres'
import { statePaths } from '../../supabase/local/paths.ts'
import { freePort } from '../../supabase/local/ports.ts'
import { Postgres } from '../../supabase/local/postgres.ts'
import { processAlive } from '../../supabase/local/processes.ts'
import { eventually } from '../_helpers/poll.ts'
import {
  callFunction,
  createTestUser,
  hasAuthServer,
  loginUser,
  requestInit,
  stackControl,
  startTestStack,
  type TestStack,
} from '../_helpers/stack.ts'

const WRITERS = 6
/** Notes each writer gets answered 201 before the restart, and again after it before the stop. */
const NOTES_PER_PHASE = 10
/** Each writer gives up after this many failed connections in a row (the gateway is gone). */
const REFUSALS_TO_QUIT = 3

interface Outcome {
  created: Map<string, string>
  /** Notes answered 201, per writer. */
  createdBy: number[]
  statuses: Record<string, number>
  /** Requests without an answer from the function: their note may or may not be written. */
  lost: number
}

async function writer(stack: TestStack, token: string, id: number, outcome: Outcome) {
  let refusals = 0
  // Bounded in count as well as by the stop.
  for (let n = 0; refusals < REFUSALS_TO_QUIT && n < 5_000; n++) {
    const body = `writer ${id} note ${n}`
    let response: Response
    try {
      response = await callFunction('notes', requestInit({ body }, token), stack)
    } catch {
      refusals++
      outcome.lost++
      outcome.statuses.network = (outcome.statuses.network ?? 0) + 1
      // A client's pause before it tries again, not a wait for a state.
      await new Promise((resolve) => setTimeout(resolve, 20))
      continue
    }
    refusals = 0
    outcome.statuses[response.status] = (outcome.statuses[response.status] ?? 0) + 1
    const text = await response.text()
    if (response.status === 201) {
      outcome.created.set(JSON.parse(text).id, body)
      outcome.createdBy[id] = (outcome.createdBy[id] ?? 0) + 1
    } else {
      // While the functions host restarts the gateway answers for it with 503 + Retry-After; a
      // 502 (sent to a host that went away) is counted here and refused at the end.
      assert(
        [502, 503].includes(response.status),
        `a clean failure, not ${response.status}: ${text}`,
      )
      assertEquals(Object.keys(JSON.parse(text)).sort(), ['error', 'error_description'])
      if (response.status === 503) assert(response.headers.get('Retry-After'), 'Retry-After')
      outcome.lost++
      // A client backing off after a 503, not a wait for a state.
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

Deno.test({
  name:
    'graceful shutdown under a steady stream of POST /notes: functions host restart -> 503 + Retry-After, never 502; whole stack stop -> in-flight requests finish or fail cleanly; every 201 note is in the database',
  ignore: !hasAuthServer,
  async fn() {
    const dedicated = await startTestStack()
    const stack = dedicated.info
    const stateDir = stack.stateDir
    const outcome: Outcome = {
      created: new Map(),
      createdBy: Array(WRITERS).fill(0),
      statuses: {},
      lost: 0,
    }
    /** Waits until every writer has had `NOTES_PER_PHASE` more notes answered 201. */
    const writersProgress = async (what: string) => {
      const from = [...outcome.createdBy]
      await eventually(
        () => outcome.createdBy.every((n, id) => n - from[id]! >= NOTES_PER_PHASE),
        {
          timeoutMs: 30_000,
          what: `every writer gets ${NOTES_PER_PHASE} notes answered 201 ${what}`,
          describe: () => JSON.stringify({ createdBy: outcome.createdBy, ...outcome.statuses }),
        },
      )
    }
    let reopened: Postgres | null = null
    try {
      const user = await createTestUser({ stack })
      const { access_token } = await loginUser(user, stack)
      const pids = { ...stack.pids }
      const writers = Array.from(
        { length: WRITERS },
        (_, id) => writer(stack, access_token, id, outcome),
      )
      // The stream is under way before the restart...
      await writersProgress('before the restart')
      const restartStarted = performance.now()
      await stackControl('functions/restart', undefined, stack)
      const restartMs = performance.now() - restartStarted
      const duringRestart = { ...outcome.statuses }
      // ...and goes on against the restarted host before the stop.
      await writersProgress('from the restarted functions host')
      const createdBeforeStop = outcome.created.size
      const stopStarted = performance.now()
      await dedicated.stack.stop()
      const stopMs = performance.now() - stopStarted
      await Promise.all(writers)
      for (const [name, pid] of Object.entries(pids)) {
        if (name !== 'supervisor' && pid !== null) assert(!processAlive(pid), `${name} stopped`)
      }

      // The same data directory, on a new port: what was committed is there.
      reopened = new Postgres({ paths: statePaths(stateDir), port: freePort(), log: () => {} })
      await reopened.start()
      const sql = postgres(reopened.url, { max: 1, onnotice: () => {} })
      let rows: { id: string; body: string }[]
      try {
        rows = await sql`select id::text, body from public.notes where user_id = ${user.id}::uuid`
      } finally {
        await sql.end()
      }
      const stored = new Map(rows.map((row) => [row.id, row.body]))
      const missing = [...outcome.created].filter(([id, body]) => stored.get(id) !== body)
      console.log(
        `shutdown: functions host restart under load took ${Math.round(restartMs)} ms, answers ` +
          `until then ${JSON.stringify(duringRestart)}`,
      )
      console.log(
        `shutdown: stop took ${Math.round(stopMs)} ms; ${outcome.created.size} notes answered ` +
          `201 (${createdBeforeStop} before the stop began), ${rows.length} rows stored; ` +
          `answers ${JSON.stringify(outcome.statuses)}; ${
            rows.length - outcome.created.size
          } rows written for requests whose answer was lost`,
      )
      assertEquals(missing, [], 'every note answered 201 is stored')
      // The gateway stops sending to a functions host that is stopping or not yet listening.
      assertEquals(outcome.statuses['502'], undefined, 'a restart is 503 + Retry-After, not 502')
      assert(outcome.created.size > 0, 'the load wrote notes')
      // A note nobody was told about can only come from a request whose answer was lost.
      assert(rows.length - outcome.created.size <= outcome.lost, 'no note from nowhere')
    } finally {
      await reopened?.stop()
      await dedicated.dispose()
    }
  },
})
