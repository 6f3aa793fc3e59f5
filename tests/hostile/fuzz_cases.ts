/**
 * The fuzz targets of the hostile-input suite (fast-check), shared by the bounded CI run
 * (`tests/unit/fuzz_test.ts`, fixed seed) and the long run (`deno task fuzz`, `tests/soak/fuzz.ts`).
 *
 * Every generated case is a *recipe* (which mutations, which body, which upstream), applied at run
 * time to tokens signed with keys generated at start-up: a failure report names the recipe, the
 * seed and the path, and the recipe replays on any keys.
 *
 * Targets and their properties, on every case:
 *
 * - `tokens`: mutations of valid ES256, RS256 and EdDSA tokens (bit flips, segment swaps, drops
 *   and duplicates, header and claim edits re-signed with a foreign key or an HMAC of the public
 *   key, `alg: none`, base64 variants, padding, truncation, insertions, ECDSA `s → n − s`, DER)
 *   on `GET /me`. Accepted (200) only for the untouched token or a variant with the same signing
 *   input whose signature verifies under the real key; otherwise 400 or 401; never 5xx.
 * - `authorization`: arbitrary `Authorization` values, raw Latin-1 or scheme + separator +
 *   credential + suffix. 200 only for `Bearer 1*SP <acceptable token>`; otherwise 400 or 401.
 * - `login` / `refresh`: arbitrary bodies, content types, methods, query strings and forwarding
 *   headers, in process, against an unreachable upstream or a local fake that answers 400 like
 *   Supabase Auth refusing credentials. 400, 405, 413 or 415; 502 `auth_upstream_unavailable`
 *   only with the unreachable upstream (documented: the auth server is down); never another 5xx.
 *
 * All targets: the error body is the contract's shape with a fixed description, and nothing of
 * the input (token, segments, values, query) is echoed.
 *
 * @module
 */
import { assert, assertEquals } from '@std/assert'
import fc from 'fast-check'
import { loadConfig } from '../../functions/_shared/core/config.ts'
import { REALM } from '../../functions/_shared/core/errors.ts'
import { createLoginApp } from '../../functions/login/app.ts'
import { createRefreshApp } from '../../functions/refresh/app.ts'
import { ManualClock } from '../_helpers/jwks_server.ts'
import { assertNoEcho } from '../_helpers/assert_auth.ts'
import { claims, generateKeyPair, rawJws } from '../_helpers/keys.ts'
import { closedPort, startLocalServer } from '../_helpers/local_server.ts'
import { meHarness } from '../_helpers/me_harness.ts'
import {
  authorizationRecipe,
  type GrantRecipe,
  loginRecipe,
  refreshRecipe,
  tokenRecipe,
} from './fuzz_recipes.ts'
import {
  assertErrorShape,
  isHeaderValue,
  queryValues,
  VOCABULARY,
  withShownName,
} from './fuzz_oracles.ts'
import { acceptable, applyRecipe, authorizationValue, type Material } from './fuzz_tokens.ts'

/** The names of the fuzz targets. */
export type TargetName = 'tokens' | 'authorization' | 'login' | 'refresh'

/** One fuzz target: its property and its share of a long run. */
export interface FuzzTarget<N extends string = TargetName> {
  name: N
  /** Share of the runs in `deno task fuzz`, in per cent of all targets' cases. */
  weight: number
  property: fc.IAsyncProperty<[unknown]>
}

/** The targets with the servers and keys they use. */
export interface FuzzSetup {
  targets: FuzzTarget[]
  /** Responses seen per target, by status and error code, to show what the cases reached. */
  statuses: Record<TargetName, Record<string, number>>
  /** Stops the fake upstream. */
  close(): Promise<void>
}

const LEGACY_SECRET = 'f'.repeat(40)

/** Asserts a bearer failure: 400 or 401, the contract's challenge, no echo. */
async function assertBearerFailure(
  response: Response,
  secrets: string[],
  vocabulary: string,
): Promise<void> {
  assert([400, 401].includes(response.status), `400 or 401, got ${response.status}`)
  await assertNoEcho(response, secrets, { vocabulary })
  const error = await assertErrorShape(response, [])
  const challenge = response.headers.get('WWW-Authenticate') ?? ''
  if (error === 'unauthorized') assertEquals(challenge, `Bearer realm="${REALM}"`)
  else assert(challenge.startsWith(`Bearer realm="${REALM}", error="${error}"`), challenge)
}

/** The body of a grant request recipe, and what of it must never be echoed. */
export function grantBody(
  recipe: GrantRecipe,
  fields: readonly string[],
): { body: BodyInit | null; secrets: string[] } {
  const body = recipe.body
  switch (body.kind) {
    case 'valid': {
      const values = Object.fromEntries(fields.map((name, i) => [name, body.values[i]]))
      return { body: JSON.stringify(values), secrets: body.values }
    }
    case 'fields': {
      // Built as text so duplicate names and `__proto__` reach the server as sent.
      const text = `{${
        body.fields.map(([name, value]) =>
          `${JSON.stringify(name)}:${JSON.stringify(value) ?? 'null'}`
        ).join(',')
      }}`
      const secrets = body.fields.flatMap(([, value]) => typeof value === 'string' ? [value] : [])
      return { body: text, secrets: [...secrets, text] }
    }
    case 'json': {
      const text = JSON.stringify(body.value) ?? 'null'
      return { body: text, secrets: [text] }
    }
    case 'text':
      return { body: body.text, secrets: [body.text] }
    case 'bytes':
      return { body: body.bytes as BodyInit, secrets: [] }
    case 'huge': {
      const password = 'p'.repeat(body.size)
      return {
        body: JSON.stringify({ email: 'alice@example.com', password }),
        secrets: [password.slice(0, 64)],
      }
    }
  }
}

/**
 * Builds the targets: generates the keys and valid tokens, the `me` app with inline keys (and a
 * legacy secret, so the HS256 path is live), and the login and refresh apps on a fake upstream
 * and on an unreachable one.
 *
 * @returns the targets and a close function
 */
export async function setUpFuzz(): Promise<FuzzSetup> {
  const real = [
    await generateKeyPair('ES256'),
    await generateKeyPair('RS256'),
    await generateKeyPair('EdDSA'),
  ]
  // Same kids as the real keys: a forger knows the public kid (T16).
  const foreign = await Promise.all(real.map((key) => generateKeyPair(key.alg, key.kid)))
  const stranger = await generateKeyPair('ES256')
  const h = meHarness({ keys: real, vars: { SUPABASE_JWT_SECRET: LEGACY_SECRET } })
  const tokenClaims = real.map(() => claims({}, h.clock.now()))
  const tokens = await Promise.all(real.map((key, i) =>
    rawJws(
      { alg: key.alg, kid: key.kid, typ: 'JWT' },
      tokenClaims[i]!,
      key,
    )
  ))
  const material: Material = {
    real,
    tokens,
    subs: tokenClaims.map((c) => String(c.sub)),
    foreign,
    stranger,
  }

  const fake = startLocalServer(async (request) => {
    await request.body?.cancel()
    const refresh = new URL(request.url).searchParams.get('grant_type') === 'refresh_token'
    return Response.json(
      refresh
        ? { code: 400, error_code: 'refresh_token_not_found', msg: 'Invalid Refresh Token' }
        : { code: 400, error_code: 'invalid_credentials', msg: 'Invalid login credentials' },
      { status: 400 },
    )
  })
  const down = `http://127.0.0.1:${closedPort()}`
  const configFor = (url: string) => {
    const vars: Record<string, string> = {
      SUPABASE_URL: url,
      SUPABASE_ANON_KEY: 'anon-key-for-fuzzing',
      SUPABASE_SERVICE_ROLE_KEY: 'service-role-key-for-fuzzing',
      EDGE_AUTH_UPSTREAM_TIMEOUT_MS: '3000',
    }
    return loadConfig({ get: (name) => vars[name] })
  }
  const apps = {
    login: {
      // No failure floor: its timing is tested against the real auth server, not here.
      fake: createLoginApp(configFor(fake.url), { clock: new ManualClock() }),
      down: createLoginApp(configFor(down), { clock: new ManualClock() }),
    },
    refresh: {
      fake: createRefreshApp(configFor(fake.url)),
      down: createRefreshApp(configFor(down)),
    },
  }

  const vocabulary = VOCABULARY

  const statuses: FuzzSetup['statuses'] = { tokens: {}, authorization: {}, login: {}, refresh: {} }
  const count = (target: TargetName, response: Response, error = '') => {
    const key = `${response.status}${error ? ` ${error}` : ''}`
    statuses[target][key] = (statuses[target][key] ?? 0) + 1
  }

  async function checkBearer(target: TargetName, value: string, secrets: string[]) {
    const response = await h.get(value)
    const status = response.status
    count(target, response)
    if (status === 200) {
      // Headers trims surrounding spaces and tabs, as an HTTP server does.
      const credential = /^bearer +([^ ]+)$/i.exec(value.replace(/^[\t ]+|[\t ]+$/g, ''))?.[1]
      const index = credential === undefined ? null : await acceptable(credential, material)
      assert(index !== null, 'accepted a token that is not a valid spelling of a real one')
      const body = await response.json()
      assertEquals(body.user.id, material.subs[index])
      return
    }
    await assertBearerFailure(response, secrets, vocabulary)
  }

  const tokensProperty = fc.asyncProperty(tokenRecipe, async (recipe) => {
    const candidate = await applyRecipe(recipe, material)
    const value = `Bearer ${candidate}`
    fc.pre(isHeaderValue(value))
    await checkBearer('tokens', value, [candidate])
  })

  const authorizationProperty = fc.asyncProperty(authorizationRecipe, async (recipe) => {
    const value = await authorizationValue(recipe, material)
    fc.pre(isHeaderValue(value))
    // The value itself, and the token inside it when there is one.
    await checkBearer('authorization', value, [value, ...value.split(/[ \t,]/)])
  })

  function grantProperty(name: 'login' | 'refresh', arbitrary: fc.Arbitrary<GrantRecipe>) {
    const fields = name === 'login' ? ['email', 'password'] : ['refresh_token']
    return fc.asyncProperty(arbitrary, async (recipe) => {
      const app = apps[name][recipe.upstream]
      const headers = new Headers()
      if (recipe.contentType !== null) headers.set('Content-Type', recipe.contentType)
      if (recipe.forwardedFor !== null) {
        fc.pre(isHeaderValue(recipe.forwardedFor))
        headers.set('X-Forwarded-For', recipe.forwardedFor)
      }
      const { body, secrets } = grantBody(recipe, fields)
      const response = await app.request(`/${name}${recipe.query}`, {
        method: recipe.method,
        headers,
        body: recipe.method === 'GET' ? null : body,
      })
      fake.requests.length = 0
      const allowed = recipe.upstream === 'down' ? [400, 405, 413, 415, 502] : [400, 405, 413, 415]
      const text = await response.clone().text()
      assert(allowed.includes(response.status), `status ${response.status}: ${text}`)
      await assertNoEcho(response, [...secrets, ...queryValues(recipe.query)], {
        vocabulary: await withShownName(response, vocabulary),
      })
      const error = await assertErrorShape(response, fields)
      count(name, response, error)
      if (response.status === 502) assertEquals(error, 'auth_upstream_unavailable')
      // Only the fake can refuse credentials: a 400 invalid_grant proves the upstream was asked.
      if (error === 'invalid_grant') assertEquals(recipe.upstream, 'fake')
      if (response.status === 405) assertEquals(response.headers.get('Allow'), 'POST')
    })
  }

  return {
    targets: [
      { name: 'tokens', weight: 40, property: tokensProperty as fc.IAsyncProperty<[unknown]> },
      {
        name: 'authorization',
        weight: 20,
        property: authorizationProperty as fc.IAsyncProperty<[unknown]>,
      },
      {
        name: 'login',
        weight: 12,
        property: grantProperty('login', loginRecipe) as fc.IAsyncProperty<[unknown]>,
      },
      {
        name: 'refresh',
        weight: 4,
        property: grantProperty('refresh', refreshRecipe) as fc.IAsyncProperty<[unknown]>,
      },
    ],
    statuses,
    close: () => fake.close(),
  }
}

/** The outcome of running one target. */
export interface TargetRun {
  name: string
  runs: number
  skipped: number
  failed: boolean
  seed: number
  /** How to replay a failure, and fast-check's report. */
  report?: string
}

/**
 * Runs every target as one test step, for the number of cases `cases` gives it, from a fixed
 * seed: the bounded CI runs of `deno task fuzz`.
 *
 * @param t the test
 * @param targets the targets to run
 * @param cases per target name, the number of cases and what the step proves
 * @param seed the seed every run starts from
 */
export async function stepThroughTargets<N extends string>(
  t: Deno.TestContext,
  targets: readonly FuzzTarget<N>[],
  cases: Record<N, readonly [number, string]>,
  seed: number,
): Promise<void> {
  for (const target of targets) {
    const [numRuns, expectation] = cases[target.name]
    await t.step(`${target.name}: ${numRuns} ${expectation}`, async () => {
      const run = await runTarget(target, { numRuns, seed })
      if (run.failed) throw new Error(`fuzz ${target.name} failed\n${run.report}`)
    })
  }
}

/**
 * Runs one target for `numRuns` cases from `seed` (optionally replaying `path`).
 *
 * @param target the target
 * @param options cases, seed, replay path
 * @returns the outcome, with a replay command on failure
 */
export async function runTarget(
  target: FuzzTarget<string>,
  options: { numRuns: number; seed: number; path?: string },
): Promise<TargetRun> {
  const details = await fc.check(target.property, {
    numRuns: options.numRuns,
    seed: options.seed,
    path: options.path,
  })
  const run: TargetRun = {
    name: target.name,
    runs: details.numRuns,
    skipped: details.numSkips,
    failed: details.failed,
    seed: details.seed,
  }
  if (details.failed) {
    const replay =
      `deno task fuzz --target ${target.name} --seed ${details.seed} --path ${details.counterexamplePath} --runs 1`
    const error = details.errorInstance instanceof Error
      ? details.errorInstance.message
      : String(details.errorInstance)
    run.report = `replay: ${replay}\nerror: ${error}\n${
      await fc.asyncDefaultReportMessage(details) ?? ''
    }`
  }
  return run
}
