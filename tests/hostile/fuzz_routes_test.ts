// The real-stack fuzz targets of tests/hostile/fuzz_routes.ts (login, refresh, logout, notes on
// the stack's real auth server and PostgreSQL), a bounded number of cases from a fixed seed so
// every run checks the same cases. `deno task fuzz` runs them with the in-process targets, 100,000
// cases and more from fresh seeds.
import { type RouteTargetName, setUpRouteFuzz } from './fuzz_routes.ts'
import { stepThroughTargets } from './fuzz_cases.ts'
import { hasAuthServer, testStack } from '../_helpers/stack.ts'

const SEED = 0x5eed

const CASES: Record<RouteTargetName, [number, string]> = {
  'stack-login': [
    300,
    'arbitrary login requests and the real credentials -> 200 only with the real password, else 400/405/413/415/429',
  ],
  'stack-refresh': [
    300,
    'arbitrary refresh requests and real refresh tokens -> 200 only for a real one, same session, else 400/405/409/413/415/429',
  ],
  logout: [
    200,
    'arbitrary logout requests -> 204 only for a token of ours, which ends its session, else 400/401/405',
  ],
  notes: [
    1500,
    'arbitrary notes requests -> 201 exactly for storable text, read back byte-identical, refusals not stored, never 5xx',
  ],
}

Deno.test({
  name:
    `fuzz on the real stack (seed ${SEED}): login, refresh, logout, notes never 5xx, never a changed stored value, never an echo`,
  ignore: !hasAuthServer,
  async fn(t) {
    const setup = await setUpRouteFuzz(testStack())
    try {
      await stepThroughTargets(t, setup.targets, CASES, SEED)
    } finally {
      await setup.close()
    }
  },
})
