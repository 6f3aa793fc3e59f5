// Brute force and account enumeration on `login`, against the real auth server on a stack of this
// test's own whose token endpoint allows a burst of 30 requests per client and then 1 per 5
// minutes (GOTRUE_RATE_LIMIT_TOKEN_REFRESH=1; the burst is fixed in the auth server).
//
// As on hosted Supabase, the auth server counts a request by the address its gateway saw
// (GOTRUE_RATE_LIMIT_HEADER=X-Forwarded-For, which the local gateway overwrites), unless a request
// made with the secret key names the caller in Sb-Forwarded-For. The stack's functions trust
// X-Real-IP (EDGE_AUTH_CLIENT_ADDRESS_HEADER), which the local gateway also overwrites with its
// socket peer, so behind the gateway the limit is per caller. Every caller is on loopback here:
// the functions host is called directly with an X-Real-IP of our choosing, which is what the
// gateway writes in front of it.
import { assert, assertEquals } from '@std/assert'
import { MIN_FAILURE_MS } from '../../functions/login/app.ts'
import { createLoginApp } from '../../functions/login/app.ts'
import { ManualClock } from '../_helpers/jwks_server.ts'
import { assertNoEcho } from '../_helpers/assert_auth.ts'
import {
  authAdmin,
  banUser,
  createTestUser,
  hasAuthServer,
  requestInit,
  stackConfig,
  startTestStack,
  type TestStack,
  type TestUser,
} from '../_helpers/stack.ts'

/** The auth server's burst for the token endpoint (`apilimiter.go`: `SetBurst(30)`). */
const BURST = 30

/** Forwarding headers a caller can write, each claiming `address`. */
function forgedHeaders(address: string): Record<string, string> {
  return {
    'X-Forwarded-For': address,
    'X-Real-IP': address,
    'Sb-Forwarded-For': address,
    Forwarded: `for=${address}`,
    'CF-Connecting-IP': address,
  }
}

/** `POST /login` on the functions host, as the gateway forwards a caller at `address`. */
function loginFrom(stack: TestStack, address: string, body: unknown): Promise<Response> {
  const init = requestInit(body)
  return fetch(`http://127.0.0.1:${stack.ports.functions}/functions/v1/login`, {
    ...init,
    headers: { ...init.headers, 'X-Real-IP': address },
  })
}

/** Status line, headers but Date, and body: what must not differ between failures. */
async function canonical(response: Response): Promise<string> {
  const headers = [...response.headers].filter(([name]) => name !== 'date')
    .map(([name, value]) => `${name}: ${value}`)
  return `${response.status}\n${headers.join('\n')}\n\n${await response.text()}`
}

/**
 * Runs `count` requests, 8 at a time: each failure waits out the login's failure floor, and more
 * at once would make the auth server's bcrypt queue on 2 cores exceed the upstream budget (504).
 */
async function inBatches<T>(count: number, send: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = []
  for (let start = 0; start < count; start += 8) {
    const size = Math.min(8, count - start)
    results.push(...await Promise.all(Array.from({ length: size }, (_, j) => send(start + j))))
  }
  return results
}

/** Failures of each kind timed: timing is asserted as a comparison of their medians. */
const TIMING_SAMPLES = 21
/** Largest difference of medians that still counts as the same time. */
const TIMING_MARGIN_MS = 20

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

Deno.test({
  name:
    'login brute force with a low token rate limit: identical failures, equal timing, 429 + Retry-After per caller, other callers unaffected, forged forwarding headers never pick the bucket',
  ignore: !hasAuthServer,
  async fn(t) {
    const dedicated = await startTestStack({
      authEnv: {
        GOTRUE_RATE_LIMIT_TOKEN_REFRESH: '1',
        GOTRUE_RATE_LIMIT_HEADER: 'X-Forwarded-For',
      },
      functionsEnv: { EDGE_AUTH_CLIENT_ADDRESS_HEADER: 'X-Real-IP' },
    })
    const stack = dedicated.info
    const figures: string[] = []
    // A fresh address per request where the limiter must stay out of the way.
    let next = 0
    const fresh = () => `127.0.${10 + Math.floor(next / 250)}.${1 + (next++ % 250)}`
    try {
      const user = await createTestUser({ stack })
      const wrong = { email: user.email, password: 'wrong-password-1' }
      const unknown = () => ({ email: `nobody-${crypto.randomUUID()}@example.com`, password: 'x1' })

      await t.step(
        'every credential failure is the same 400: unknown email, wrong password, banned, unconfirmed, no password',
        async () => {
          const banned = await createTestUser({ stack })
          await banUser(banned.id, '24h', stack)
          const unconfirmed = await createTestUser({ stack, unconfirmed: true })
          const passwordless = `passwordless-${crypto.randomUUID()}@example.com`
          const created = await authAdmin('users', {
            method: 'POST',
            body: JSON.stringify({ email: passwordless, email_confirm: true }),
          }, stack)
          assertEquals(created.status, 200, await created.text())
          const attempts: [string, { email: string; password: string }][] = [
            ['unknown email', unknown()],
            ['wrong password', wrong],
            ['banned user, right password', { email: banned.email, password: banned.password }],
            ['unconfirmed email, right password', {
              email: unconfirmed.email,
              password: unconfirmed.password,
            }],
            ['user without a password', { email: passwordless, password: 'any-password-1' }],
          ]
          const answers: string[] = []
          for (const [label, attempt] of attempts) {
            const response = await loginFrom(stack, fresh(), attempt)
            await assertNoEcho(response, [attempt.email, attempt.password])
            answers.push(await canonical(response))
            assertEquals(answers.at(-1), answers[0], `${label} differs from ${attempts[0]![0]}`)
          }
          assert(answers[0]!.startsWith('400\n'), answers[0])
          assert(
            answers[0]!.endsWith(
              '{"error":"invalid_grant","error_description":"Invalid login credentials"}',
            ),
          )
        },
      )

      await t.step(
        `timing: unknown email and wrong password through login -> medians of ${TIMING_SAMPLES} within ${TIMING_MARGIN_MS} ms, none under the ${MIN_FAILURE_MS} ms floor; the auth server alone tells them apart`,
        async () => {
          const time = async (send: () => Promise<Response>) => {
            const started = performance.now()
            const response = await send()
            await response.body?.cancel()
            assertEquals(response.status, 400)
            return performance.now() - started
          }
          // The auth server itself, on its own port with an address of its own per request, so
          // its limiter stays out of the way.
          const upstream = (body: unknown) =>
            fetch(`http://127.0.0.1:${stack.ports.auth}/token?grant_type=password`, {
              method: 'POST',
              headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': fresh() },
              body: JSON.stringify(body),
            })
          const kinds = {
            upstreamUnknown: () => upstream(unknown()),
            upstreamWrong: () => upstream(wrong),
            unknown: () => loginFrom(stack, fresh(), unknown()),
            wrong: () => loginFrom(stack, fresh(), wrong),
          }
          const samples: Record<keyof typeof kinds, number[]> = {
            upstreamUnknown: [],
            upstreamWrong: [],
            unknown: [],
            wrong: [],
          }
          // Every kind in every round, so that machine noise falls on all kinds alike; one at a
          // time, so that concurrent bcrypt work does not blur the auth server's own difference.
          for (let i = 0; i < TIMING_SAMPLES; i++) {
            for (const [kind, send] of Object.entries(kinds)) {
              samples[kind as keyof typeof kinds].push(await time(send))
            }
          }
          const m = Object.fromEntries(
            Object.entries(samples).map(([kind, values]) => [kind, median(values)]),
          ) as Record<keyof typeof kinds, number>
          figures.push(
            `timing medians of ${TIMING_SAMPLES}: auth server alone unknown email ${
              m.upstreamUnknown.toFixed(1)
            } ms, wrong password ${m.upstreamWrong.toFixed(1)} ms; through login unknown email ${
              m.unknown.toFixed(1)
            } ms, wrong password ${m.wrong.toFixed(1)} ms`,
          )
          // The measurement can see a difference of the margin's size: the auth server alone
          // answers an unknown email without bcrypt.
          assert(
            m.upstreamWrong - m.upstreamUnknown > TIMING_MARGIN_MS,
            `the auth server alone: wrong password ${m.upstreamWrong} ms vs unknown ${m.upstreamUnknown} ms`,
          )
          assert(
            Math.abs(m.wrong - m.unknown) <= TIMING_MARGIN_MS,
            `through login: wrong password ${m.wrong} ms vs unknown email ${m.unknown} ms`,
          )
          const fastest = Math.min(...samples.unknown, ...samples.wrong)
          assert(fastest >= MIN_FAILURE_MS, `a failure took ${fastest} ms, under the floor`)
        },
      )

      await t.step(
        `one caller: after ${BURST} failures -> 429 rate_limited + Retry-After, even with the right password`,
        async () => {
          const attacker = '127.0.0.2'
          const statuses = await inBatches(BURST + 8, async () => {
            const response = await loginFrom(stack, attacker, wrong)
            await response.body?.cancel()
            return response.status
          })
          const limited = statuses.filter((s) => s === 429).length
          assertEquals(statuses.filter((s) => s !== 429 && s !== 400), [], 'only 400 and 429')
          assert(limited >= 1, `no 429 after ${statuses.length} failures`)
          const response = await loginFrom(stack, attacker, {
            email: user.email,
            password: user.password,
          })
          await assertNoEcho(response, [user.email, user.password])
          const retryAfter = Number(response.headers.get('Retry-After'))
          assertEquals(await response.json(), {
            error: 'rate_limited',
            error_description: 'Too many requests, retry later',
          })
          assertEquals(response.status, 429)
          assert(Number.isInteger(retryAfter) && retryAfter >= 1, 'Retry-After in seconds')
          figures.push(
            `one caller, ${statuses.length} failures: ${
              statuses.length - limited
            } answered 400, ${limited} answered 429; then the right password: 429 Retry-After ${retryAfter}`,
          )
        },
      )

      await t.step(
        'another caller is not limited by the first one: wrong password 400, right password 200',
        async () => {
          const other = '127.0.0.3'
          const failed = await loginFrom(stack, other, wrong)
          assertEquals(failed.status, 400, await failed.text())
          const ok = await loginFrom(stack, other, { email: user.email, password: user.password })
          assertEquals(ok.status, 200, await ok.text())
        },
      )

      await t.step(
        'one email attacked from many callers: no caller reaches its limit, and the account is not locked for its owner',
        async () => {
          const victim: TestUser = await createTestUser({ stack })
          // More failures in all than one caller's budget: 10 callers, 4 each.
          const attackers = Array.from({ length: 10 }, () => fresh())
          const statuses = await inBatches(attackers.length * 4, async (i) => {
            const response = await loginFrom(stack, attackers[i % attackers.length]!, {
              email: victim.email,
              password: 'guess-password-1',
            })
            await response.body?.cancel()
            return response.status
          })
          assertEquals(new Set(statuses), new Set([400]))
          const owner = await loginFrom(stack, fresh(), {
            email: victim.email,
            password: victim.password,
          })
          assertEquals(owner.status, 200, await owner.text())
          figures.push(
            `one email, ${attackers.length} callers x 4 failures: all 400 (the auth server limits per caller, not per account); the owner then logs in: 200`,
          )
        },
      )

      await t.step(
        'a forged forwarding header never moves a caller to another bucket: without a trusted header every caller counts as the function, and through the gateway as its socket peer',
        async () => {
          // The default configuration: no trusted header, so nothing is forwarded and the auth
          // server counts every caller of this instance by the address its gateway saw. With the
          // secret key, as the stack's functions have it: a forged header would be forwarded.
          const untrusting = createLoginApp(
            stackConfig({}, stack),
            { clock: new ManualClock() },
          )
          const statuses: number[] = []
          while (!statuses.includes(429) && statuses.length < BURST + 16) {
            const forged = fresh()
            const init = requestInit(wrong)
            const response = await untrusting.request('/login', {
              ...init,
              headers: { ...init.headers, ...forgedHeaders(forged) },
            })
            await assertNoEcho(response, [forged, wrong.password])
            statuses.push(response.status)
          }
          assertEquals(statuses.filter((s) => s !== 429 && s !== 400), [], 'only 400 and 429')
          assert(statuses.includes(429), `no 429 after ${statuses.length} forged-address failures`)
          // Through the gateway every request comes from the same socket peer as the instance
          // above: the bucket is spent, and no forged header escapes it.
          const through = await Promise.all(Array.from({ length: 8 }, async () => {
            const init = requestInit(wrong)
            const response = await fetch(`${stack.functionsUrl}/login`, {
              ...init,
              headers: { ...init.headers, ...forgedHeaders(fresh()) },
            })
            await response.body?.cancel()
            return response.status
          }))
          assertEquals(through, Array(8).fill(429))
          // A caller the trusted header names is in a bucket of its own.
          const owner = await loginFrom(stack, fresh(), {
            email: user.email,
            password: user.password,
          })
          assertEquals(owner.status, 200, await owner.text())
          figures.push(
            `no trusted header, forged headers on every request: first 429 after ${
              statuses.indexOf(429) + 1
            } requests; then through the gateway with forged headers: ${through.length} x 429`,
          )
        },
      )
    } finally {
      console.log(figures.map((line) => `brute force: ${line}`).join('\n'))
      await dedicated.dispose()
    }
  },
})
