// A few seconds of the soak load (tests/soak/soak.ts) against the shared test stack: every
// request gets the answer its kind expects (no 5xx, no network error, no wrong status). The
// figures are printed for a look, never asserted; `deno task soak` runs the long version.
import { assertEquals } from '@std/assert'
import { formatReport, runSoak } from '../soak/soak.ts'
import { hasAuthServer, testStack } from '../_helpers/stack.ts'

Deno.test({
  name:
    'soak: 5 s of mixed load (valid, expired, revoked, garbage tokens, logins, refreshes, logouts, notes) -> 0 unexpected answers',
  ignore: !hasAuthServer,
  async fn() {
    const report = await runSoak({ stack: testStack, durationMs: 5_000, concurrency: 4 })
    console.log(formatReport(report))
    assertEquals(report.unexpectedSamples, [])
    assertEquals(report.unexpected, 0)
  },
})
