// Key rotation with the real auth server the way Supabase documents it (publish a standby key,
// rotate to it, revoke the old one), on a stack of this test's own, with a steady stream of `me`
// requests carrying valid tokens throughout. It complements the rotation test of
// tests/integration/me_test.ts (refetch counts on a hand-moved clock) with wall-clock figures: how
// long each phase takes to reach a running function, printed, never asserted.
//
// The functions run with a 5 s JWKS cache age and a 1 s cooldown (defaults: 10 min and 30 s), so
// that the cache-bound steps finish within the test; the figures scale with these settings.
import { assert, assertEquals } from '@std/assert'
import { decodeJwt, decodeProtectedHeader, importJWK, SignJWT } from 'jose'
import { join } from 'node:path'
import { authFromConfig } from '../../functions/_shared/auth/from_env.ts'
import { ApiError } from '../../functions/_shared/core/errors.ts'
import { assertAuthError, assertMe } from '../_helpers/assert_auth.ts'
import { eventually } from '../_helpers/poll.ts'
import {
  callFunction,
  createTestUser,
  hasAuthServer,
  loginUser,
  requestInit,
  stackConfig,
  stackControl,
  startTestStack,
  type TestStack,
} from '../_helpers/stack.ts'

const CACHE_MAX_AGE_MS = 5_000
const COOLDOWN_MS = 1_000
/** Requests the steady load sends with the new key's token while both keys are in use. */
const BOTH_KEYS_REQUESTS = 25
const TIMINGS = {
  EDGE_AUTH_JWKS_CACHE_MAX_AGE_MS: String(CACHE_MAX_AGE_MS),
  EDGE_AUTH_JWKS_COOLDOWN_MS: String(COOLDOWN_MS),
}

interface KeyPhaseResult {
  signingKid: string
  standbyKid: string | null
  revokedKids: string[]
}

/** The same claims as `token`, signed by another of the stack's keys (read from its key set). */
async function resignWith(stack: TestStack, kid: string, token: string): Promise<string> {
  const keys = JSON.parse(
    await Deno.readTextFile(join(stack.stateDir, 'keys', 'jwt_keys.json')),
  ) as { kid: string; key_ops?: string[] }[]
  const jwk = keys.find((key) => key.kid === kid)
  assert(jwk, `the key set holds ${kid}`)
  const key = await importJWK({ ...jwk, key_ops: undefined }, 'ES256')
  return await new SignJWT(decodeJwt(token)).setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
    .sign(key)
}

/** Asserts a 200 from me with the identity and session of `token`. */
async function assertMeFor(stack: TestStack, token: string): Promise<void> {
  const { sub, session_id } = decodeJwt(token)
  await assertMe(await callFunction('me', requestInit(undefined, token), stack), token, {
    sub,
    session_id,
  })
}

async function meStatus(stack: TestStack, token: string): Promise<number> {
  const response = await callFunction('me', requestInit(undefined, token), stack)
  await response.body?.cancel()
  return response.status
}

/** Polls until `probe` is true. Returns the time it took. */
async function until(
  probe: () => Promise<boolean>,
  limitMs: number,
  what: string,
): Promise<number> {
  return (await eventually(probe, { timeoutMs: limitMs, what })).elapsedMs
}

/** A steady stream of `me` requests with every token in `tokens`, until stopped. */
function steadyLoad(stack: TestStack, tokens: string[]) {
  let running = true
  const statuses: Record<string, number> = {}
  /** Requests sent per token. */
  const sent = new Map<string, number>()
  const done = (async () => {
    while (running) {
      for (const token of [...tokens]) {
        const status = await meStatus(stack, token)
        statuses[status] = (statuses[status] ?? 0) + 1
        sent.set(token, (sent.get(token) ?? 0) + 1)
      }
      // Pacing, not a wait for a state: a steady client's rate rather than a flood.
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })()
  return {
    statuses,
    sent,
    async stop() {
      running = false
      await done
    },
  }
}

Deno.test({
  name:
    'key rotation standby -> rotate -> revoke on the real auth server under steady load: no valid request fails while the standby key exists; the revoked key is refused once caches age out (timings printed)',
  ignore: !hasAuthServer,
  async fn(t) {
    const dedicated = await startTestStack({ functionsEnv: TIMINGS })
    const stack = dedicated.info
    const figures: string[] = []
    const jwksKids = async () => {
      const response = await fetch(stack.jwksUrl)
      if (response.status !== 200) {
        await response.body?.cancel()
        return []
      }
      return ((await response.json()).keys as { kid: string }[]).map((key) => key.kid)
    }
    const control = async (phase: string) => {
      const started = performance.now()
      const result = await stackControl('auth/keys', { phase }, stack) as KeyPhaseResult
      return { result, ms: performance.now() - started }
    }
    try {
      const user = await createTestUser({ stack })
      const old = (await loginUser(user, stack)).access_token
      const oldKid = decodeProtectedHeader(old).kid!
      await assertMeFor(stack, old)
      // An instance that is never restarted (the local stack restarts its functions at revoke,
      // because the revoked key signed its API keys; the hosted platform does not).
      const instance = authFromConfig(stackConfig(TIMINGS, stack))
      await instance.verify(old)

      const tokens = [old]
      const load = steadyLoad(stack, tokens)
      let standbyKid = ''
      let fresh = ''

      await t.step(
        'standby: published by the JWKS at once; a token of the standby key passes me once the function has fetched it',
        async () => {
          const { result, ms } = await control('standby')
          standbyKid = result.standbyKid!
          const jwksMs = await until(
            async () => (await jwksKids()).includes(standbyKid),
            10_000,
            'JWKS',
          )
          // The same session signed by the standby key: what a token of the next key looks like.
          const probe = await resignWith(stack, standbyKid, old)
          const seen = new Set<number>()
          const fnMs = await until(
            async () => {
              const status = await meStatus(stack, probe)
              seen.add(status)
              return status === 200
            },
            30_000,
            'me with the standby key',
          )
          assertEquals([...seen].filter((s) => s !== 200 && s !== 401), [], 'only 401 before')
          // The unrestarted instance: an unknown kid refetches once its cooldown allows.
          const instanceMs = await until(
            () => instance.verify(probe).then(() => true, () => false),
            CACHE_MAX_AGE_MS + COOLDOWN_MS + 10_000,
            'the instance accepts the standby key',
          )
          figures.push(
            `standby: control ${Math.round(ms)} ms (auth server restart); JWKS ${
              Math.round(jwksMs)
            } ms after; me accepts the standby key ${Math.round(fnMs)} ms after (answers seen: ${
              [...seen].join(', ')
            }), an unrestarted instance ${Math.round(instanceMs)} ms after that`,
          )
        },
      )

      await t.step(
        'rotate: new logins are signed by the standby key; me accepts them on the first request',
        async () => {
          const { result, ms } = await control('rotate')
          assertEquals(result.signingKid, standbyKid)
          fresh = (await loginUser(user, stack)).access_token
          assertEquals(decodeProtectedHeader(fresh).kid, standbyKid)
          const started = performance.now()
          // The first request with the new key.
          await assertMeFor(stack, fresh)
          const firstMs = performance.now() - started
          await instance.verify(fresh)
          tokens.push(fresh)
          // Both keys in use for a while, as clients refresh at their own pace: until the load
          // has sent the new-key token a number of times (its answers are checked below).
          const { elapsedMs: bothMs } = await eventually(
            () => (load.sent.get(fresh) ?? 0) >= BOTH_KEYS_REQUESTS,
            { timeoutMs: 15_000, what: `the load sends ${BOTH_KEYS_REQUESTS} new-key requests` },
          )
          figures.push(
            `rotate: control ${Math.round(ms)} ms; first me with a new-key token 200 in ${
              Math.round(firstMs)
            } ms (no refetch: the standby key was known); both keys under load for ${
              Math.round(bothMs)
            } ms`,
          )
        },
      )

      await load.stop()
      await t.step('no valid request failed from standby to rotate', () => {
        const total = Object.values(load.statuses).reduce((sum, n) => sum + n, 0)
        figures.push(
          `steady load standby..rotate: ${JSON.stringify(load.statuses)} (${total} requests)`,
        )
        assertEquals(Object.keys(load.statuses), ['200'], 'every valid request got 200')
      })

      await t.step(
        'revoke: the JWKS drops the old key; me refuses it (functions restarted by the stack); an unrestarted instance refuses it once its cache ages out',
        async () => {
          const { result, ms } = await control('revoke')
          assertEquals(result.revokedKids, [oldKid])
          const revokedAt = performance.now()
          const jwksMs = await until(
            async () => !(await jwksKids()).includes(oldKid),
            10_000,
            'JWKS',
          )
          const seen = new Set<number>()
          const fnMs = await until(
            async () => {
              const status = await meStatus(stack, old)
              seen.add(status)
              assert([200, 401, 503].includes(status), `me with the revoked key: ${status}`)
              return status === 401
            },
            30_000,
            'me refuses the revoked key',
          )
          await assertAuthError(
            await callFunction('me', requestInit(undefined, old), stack),
            'BADTOKEN',
            'unknownKey',
            [old],
          )
          await assertMeFor(stack, fresh)
          let refusal: unknown
          await until(
            async () => {
              refusal = await instance.verify(old).then(() => null, (error) => error)
              return refusal !== null
            },
            CACHE_MAX_AGE_MS + COOLDOWN_MS + 10_000,
            'the instance refuses the revoked key',
          )
          const instanceMs = performance.now() - revokedAt
          assert(refusal instanceof ApiError && refusal.status === 401, String(refusal))
          assertEquals(refusal.descriptionKey, 'unknownKey')
          await instance.verify(fresh)
          figures.push(
            `revoke: control ${Math.round(ms)} ms (auth server and functions restarted); JWKS ${
              Math.round(jwksMs)
            } ms after; me refuses the old key ${Math.round(fnMs)} ms after (answers seen: ${
              [...seen].join(', ')
            }); an unrestarted instance refuses it ${
              Math.round(instanceMs)
            } ms after (its cache age: ${CACHE_MAX_AGE_MS} ms)`,
          )
        },
      )
    } finally {
      console.log(figures.map((line) => `rotation: ${line}`).join('\n'))
      await dedicated.dispose()
    }
  },
})
