// The polling helper the integration tests wait with: it returns as soon as the state is there,
// fails at its deadline naming what never happened, and lets an assertion end the wait at once.
import { assert, assertEquals, assertRejects } from '@std/assert'
import { eventually } from '../_helpers/poll.ts'

Deno.test('eventually returns the first value the check reports, with its attempts', async () => {
  let calls = 0
  const result = await eventually(() => ++calls === 3 ? 'there' : undefined, {
    timeoutMs: 5_000,
    intervalMs: 1,
    what: 'the third call',
  })
  assertEquals([result.value, result.attempts, calls], ['there', 3, 3])
})

Deno.test('eventually fails at the deadline with what never happened and the last observation', async () => {
  const started = performance.now()
  const error = await assertRejects(
    () =>
      eventually(() => false, {
        timeoutMs: 100,
        intervalMs: 10,
        what: 'the door opens',
        describe: () => 'closed',
      }),
    Error,
  )
  const elapsed = performance.now() - started
  assert(error.message.startsWith('the door opens: not within 100 ms ('), error.message)
  assert(error.message.endsWith('; last seen: closed)'), error.message)
  assert(elapsed >= 100, `gave up after ${elapsed} ms, before the deadline`)
})

Deno.test('eventually counts from since: the deadline and the elapsed time', async () => {
  const since = performance.now() - 1_000
  const { elapsedMs } = await eventually(() => true, { timeoutMs: 5_000, since, what: 'now' })
  assert(elapsedMs >= 1_000, `elapsed ${elapsedMs} ms from since`)
  await assertRejects(
    () => eventually(() => false, { timeoutMs: 500, since, what: 'too late' }),
    Error,
    'too late: not within 500 ms (1 check,',
  )
})

Deno.test('eventually ends at once when the check throws', async () => {
  let calls = 0
  await assertRejects(
    () =>
      eventually(() => {
        calls++
        throw new Error('an answer that is never allowed')
      }, { timeoutMs: 5_000, what: 'never' }),
    Error,
    'an answer that is never allowed',
  )
  assertEquals(calls, 1)
})
