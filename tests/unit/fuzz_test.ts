// No hostile input may be accepted, cause a 5xx (other than the documented 502 of an unreachable
// auth server) or be echoed: the fast-check properties of
// tests/hostile/fuzz_cases.ts, a bounded number of cases from a fixed seed so every run checks the
// same cases in a few seconds. `deno task fuzz` runs 100,000 and more from fresh seeds.
import { setUpFuzz, stepThroughTargets, type TargetName } from '../hostile/fuzz_cases.ts'

const SEED = 0x5eed

const CASES: Record<TargetName, [number, string]> = {
  tokens: [
    4000,
    'mutated valid ES256/RS256/EdDSA tokens -> 200 only for a spelling that verifies under the real key, else 400/401',
  ],
  authorization: [
    2000,
    'arbitrary Authorization values -> 200 only for Bearer 1*SP <valid token>, else 400/401',
  ],
  login: [
    1500,
    'arbitrary login requests, fake or unreachable upstream -> 400/405/413/415, 502 only when unreachable',
  ],
  refresh: [
    100,
    'arbitrary refresh requests, fake or unreachable upstream -> 400/405/413/415, 502 only when unreachable',
  ],
}

Deno.test(`fuzz (seed ${SEED}): never accepted wrongly, never another 5xx, never an echo`, async (t) => {
  const setup = await setUpFuzz()
  try {
    await stepThroughTargets(t, setup.targets, CASES, SEED)
  } finally {
    await setup.close()
  }
})
