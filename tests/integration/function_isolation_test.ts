// Each function in an isolate of its own, as the edge runtime runs it: a worker process per
// function, booted on its first request, with SUPABASE_FUNCTION_SLUG set, without the sb-api-key
// header, and held to 256 MB and 2 s of CPU per request; a worker past a limit is ended, its
// request answered 546 WORKER_LIMIT, and the next request is served by a fresh one. The faults
// come from a test-only function (tests/fixtures/functions/, never deployed) on a functions host
// of the test's own with the stack's environment; the stack's own functions are checked for
// isolation and for staying within 256 MB with a full cache of 8 KB tokens.
import {
  assert,
  assertEquals,
  assertFalse,
  assertGreaterOrEqual,
  assertLessOrEqual,
  assertNotEquals,
} from '@std/assert'
import fc from 'fast-check'
import { decodeJwt, importJWK, SignJWT } from 'jose'
import { join } from 'node:path'
import { MAX_AUTHORIZATION_LENGTH } from '../../functions/_shared/tokens/bearer.ts'
import { entryBytes } from '../../functions/_shared/tokens/token_cache.ts'
import type { FunctionsHost } from '../../supabase/local/functions_process.ts'
import { resolveFunctionsRuntime } from '../../supabase/local/functions_runtime.ts'
import { startGateway } from '../../supabase/local/gateway.ts'
import { repoRoot } from '../../supabase/local/paths.ts'
import { processAlive } from '../../supabase/local/processes.ts'
import type { WorkerMemory } from '../../supabase/local/worker_protocol.ts'
import { stackFunctionsHost } from '../_helpers/functions_host.ts'
import { eventually } from '../_helpers/poll.ts'
import { cutRequest, type Framing, rawExchange } from '../_helpers/raw_http.ts'
import {
  callFunction,
  createTestUser,
  hasAuthServer,
  loginUser,
  requestInit,
  stackConfig,
  stackControl,
  testStack,
} from '../_helpers/stack.ts'

const MiB = 1024 * 1024
const LIMIT_BYTES = 256 * MiB
const fixtures = join(repoRoot, 'tests', 'fixtures', 'functions')

/** A live worker as the host's `/_host/workers` reports it. */
interface WorkerInfo {
  name: string
  pid: number
  retiring: boolean
  inFlight: number
  memory: WorkerMemory | null
}

/** A functions host of this test's own serving the fixtures, with the stack's environment. */
async function fixtureHost(): Promise<{ host: FunctionsHost; log: string[] }> {
  const log: string[] = []
  const host = await stackFunctionsHost({ functionsDir: fixtures, log: (line) => log.push(line) })
  await host.start()
  return { host, log }
}

/** Runs `test` against a fresh fixture host, then stops it and checks no worker outlives it. */
async function withFixtureHost(
  test: (base: string, host: FunctionsHost, log: string[]) => Promise<void>,
): Promise<void> {
  const { host, log } = await fixtureHost()
  const pids = new Set<number>()
  try {
    await test(`${host.url}/functions/v1`, host, log)
    for (const worker of await workersOf(host.url!)) pids.add(worker.pid)
  } catch (err) {
    console.error(`--- fixture host log ---\n${log.filter(notStackTrace).join('\n')}`)
    throw err
  } finally {
    await host.stop()
  }
  for (const pid of pids) assertFalse(processAlive(pid), `worker ${pid} ended with its host`)
}

function notStackTrace(line: string): boolean {
  return !line.startsWith('    ') && line !== ''
}

async function workersOf(hostUrl: string): Promise<WorkerInfo[]> {
  const response = await fetch(`${hostUrl}/_host/workers`)
  assertEquals(response.status, 200)
  return (await response.json()).workers
}

async function state(base: string, name: string, value?: string) {
  const response = await fetch(`${base}/${name}/state`, {
    method: value === undefined ? 'GET' : 'PUT',
    body: value,
  })
  assertEquals(response.status, 200)
  return await response.json() as { pid: number; slug: string | null; stored: string | null }
}

/** The environment of a running process, by variable. */
function environOf(pid: number): Record<string, string> {
  const entries = Deno.readTextFileSync(`/proc/${pid}/environ`).split('\0').filter(Boolean)
  return Object.fromEntries(entries.map((entry) => {
    const at = entry.indexOf('=')
    return [entry.slice(0, at), entry.slice(at + 1)]
  }))
}

function parentOf(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`)
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
}

/** The runtime's answer for a worker ended by a limit, with the stack's headers. */
async function assertWorkerLimit(response: Response): Promise<void> {
  assertEquals(response.status, 546)
  assertEquals(response.headers.get('sb-error-code'), 'WORKER_LIMIT')
  assertEquals(response.headers.get('content-type'), 'application/json')
  assertEquals(response.headers.get('cache-control'), 'no-store')
  assertEquals(await response.json(), {
    code: 'WORKER_LIMIT',
    message: 'Worker failed to respond due to a resource limit (please check logs)',
  })
}

/** The host logged why the worker `pid` ended. */
function assertEnded(log: string[], name: string, pid: number, reason: string): void {
  const line = `${name} (pid ${pid}): worker ended: ${reason}`
  assert(log.some((entry) => entry.includes(line)), `the host logged "${line}"`)
}

Deno.test('module state is per function: a value stored by one function is never seen by another, each runs in a process of its own (a child of the host) with SUPABASE_FUNCTION_SLUG = its name', async () => {
  await withFixtureHost(async (base, host) => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 64 }), async (value) => {
        const before = await state(base, 'beta')
        const alpha = await state(base, 'alpha', value)
        assertEquals(alpha.stored, value)
        const beta = await state(base, 'beta')
        assertEquals(beta.stored, before.stored, 'beta never sees what alpha stored')
        assertNotEquals(alpha.pid, beta.pid)
        assertEquals([alpha.slug, beta.slug], ['alpha', 'beta'])
      }),
      { numRuns: 25 },
    )
    assertEquals((await state(base, 'beta')).stored, null)
    const workers = await workersOf(host.url!)
    assertEquals(workers.map((worker) => worker.name).sort(), ['alpha', 'beta'])
    for (const worker of workers) {
      assertEquals(parentOf(worker.pid), host.pid, `${worker.name} is a child of the host`)
      assertEquals(environOf(worker.pid).SUPABASE_FUNCTION_SLUG, worker.name)
    }
    assertEquals(environOf(host.pid!).SUPABASE_FUNCTION_SLUG, undefined)
  })
})

Deno.test("the stack runs each of its functions in a worker process of its own: distinct pids, children of the functions host, on the lane's Deno, SUPABASE_FUNCTION_SLUG = the name", async () => {
  const stack = testStack()
  const runtime = await resolveFunctionsRuntime()
  const names = ['health', 'me', 'notes', 'login']
  // Any answer will do (without an auth server some are 5xx): each boots its function.
  for (const name of names) await (await callFunction(name)).body?.cancel()
  const workers = (await workersOf(`http://127.0.0.1:${stack.ports.functions}`))
    .filter((worker) => names.includes(worker.name) && !worker.retiring)
  assertEquals(workers.map((worker) => worker.name).sort(), [...names].sort())
  assertEquals(new Set(workers.map((worker) => worker.pid)).size, names.length)
  for (const worker of workers) {
    assertEquals(parentOf(worker.pid), stack.pids.functions, `${worker.name}'s parent`)
    assertEquals(Deno.realPathSync(`/proc/${worker.pid}/exe`), runtime.path)
    const env = environOf(worker.pid)
    assertEquals(env.SUPABASE_FUNCTION_SLUG, worker.name)
    assertEquals(env.SUPABASE_DB_URL, stack.functionsDbUrl)
  }
})

Deno.test('a client-sent sb-api-key never reaches a function: neither straight to the host nor through the gateway (which sends its own for a known apikey)', async () => {
  const stack = testStack()
  await withFixtureHost(async (base, host) => {
    const gateway = startGateway({
      port: 0,
      authUpstream: () => null,
      functionsUpstream: () => host.url,
      keys: () => stack,
      log: () => {},
    })
    try {
      const via = `http://127.0.0.1:${gateway.port}/functions/v1`
      const apikeys = [undefined, stack.publishableKey, stack.secretKey, 'sb_publishable_wrong']
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('sb-api-key', 'SB-API-KEY', 'Sb-Api-Key'),
          fc.string({ minLength: 1, maxLength: 40 }).filter((v) => /^[\x21-\x7e]+$/.test(v)),
          fc.constantFrom(...apikeys),
          fc.constantFrom(base, via),
          async (header, value, apikey, url) => {
            const headers: Record<string, string> = { [header]: value, 'x-probe': 'kept' }
            if (apikey) headers.apikey = apikey
            const response = await fetch(`${url}/alpha/headers`, { headers })
            assertEquals(response.status, 200)
            const seen = await response.json() as Record<string, string>
            assertEquals(seen['sb-api-key'], undefined, `no sb-api-key (${header}: ${value})`)
            assertEquals(seen['x-probe'], 'kept', 'other headers pass')
          },
        ),
        { numRuns: 40 },
      )
    } finally {
      await gateway.shutdown()
    }
  })
})

Deno.test("request bodies cross into the isolate as sent: whole ones with their Content-Length, ones the client cut short (Content-Length or chunked) fail in the function as they would without the host, one it never reads costs no answer, a client-sent copy of the host's own headers is dropped", async () => {
  await withFixtureHost(async (base, host) => {
    const port = Number(new URL(host.url!).port)
    const { pid } = await state(base, 'beta')
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 200_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.constantFrom<Framing>('length', 'chunked'),
        async (size, cut, framing) => {
          const body = new Uint8Array(size).fill(0x61)
          const whole = await fetch(`${base}/beta/body`, {
            method: 'POST',
            headers: { 'x-edge-auth-worker-content-length': '1' },
            body,
          })
          assertEquals(await whole.json(), { length: size, contentLength: String(size) })
          const sent = Math.min(size - 1, Math.floor(size * cut))
          const headers = { 'x-edge-auth-worker-request': 'forged' }
          const response = await rawExchange(
            port,
            cutRequest('/functions/v1/beta/body', headers, body, sent, framing),
          )
          assertEquals(response.status, 400, `${framing} ${sent}/${size}: ${response.raw}`)
          assertEquals(JSON.parse(response.body), {
            error: 'incomplete',
            contentLength: framing === 'length' ? String(size) : null,
          })
        },
      ),
      { numRuns: 30 },
    )
    // A body the function answers without reading (as it refuses one declared too large).
    for (const size of [1 << 20, 8 << 20]) {
      const unread = await fetch(`${base}/beta/headers`, {
        method: 'POST',
        body: new Uint8Array(size),
      })
      assertEquals(unread.status, 200, `${size} bytes never read`)
      assertEquals((await unread.json())['content-length'], String(size))
    }
    assertEquals((await state(base, 'beta')).pid, pid, 'a client fault never ends the worker')
  })
})

Deno.test('a function allocating past 256 MB -> 546 WORKER_LIMIT (V8 heap: V8 ends it; ArrayBuffers: the memory check ends it), and its next request is served by a fresh worker', async () => {
  await withFixtureHost(async (base, _host, log) => {
    for (const action of ['heap', 'buffers']) {
      const { pid } = await state(base, 'alpha', 'before')
      const response = await fetch(`${base}/alpha/${action}`)
      await assertWorkerLimit(response)
      assertFalse(processAlive(pid), `${action}: the worker is gone`)
      const after = await state(base, 'alpha')
      assertNotEquals(after.pid, pid, `${action}: a fresh worker`)
      assertEquals(after.stored, null, `${action}: with fresh module state`)
      assertEnded(log, 'alpha', pid, 'memory limit exceeded')
    }
    // The other function's worker was never touched.
    const beta = await state(base, 'beta')
    assertEquals((await state(base, 'beta')).pid, beta.pid)
  })
})

Deno.test('a request burning CPU past the 2 s hard limit -> 546 WORKER_LIMIT once about 2 s of CPU is spent, and the next request is served by a fresh worker', async () => {
  await withFixtureHost(async (base, _host, log) => {
    const { pid } = await state(base, 'beta')
    const started = performance.now()
    const response = await fetch(`${base}/beta/spin`)
    const elapsed = performance.now() - started
    await assertWorkerLimit(response)
    // CPU time is at most wall time; on a busy machine it takes longer to spend.
    assertGreaterOrEqual(elapsed, 2_000)
    assertFalse(processAlive(pid), 'the worker is gone')
    assertEnded(log, 'beta', pid, 'CPU time limit exceeded')
    const after = await state(base, 'beta')
    assertNotEquals(after.pid, pid)
  })
})

Deno.test('a request using 1.3 s of CPU (past the 1 s soft limit) is answered 200, and its worker then retires: the next request boots a fresh one', async () => {
  await withFixtureHost(async (base, _host, log) => {
    const { pid } = await state(base, 'alpha', 'kept until retired')
    const response = await fetch(`${base}/alpha/spin?ms=1300`)
    assertEquals(response.status, 200)
    assertEquals((await response.json()).pid, pid)
    await eventually(() => !processAlive(pid), {
      timeoutMs: 5_000,
      what: 'the retired worker stops once its request is answered',
    })
    assert(log.some((line) => line.includes(`alpha (pid ${pid}): CPU time soft limit reached`)))
    const after = await state(base, 'alpha')
    assertNotEquals(after.pid, pid)
    assertEquals(after.stored, null)
  })
})

Deno.test('a worker that exits mid-request -> 500 WORKER_ERROR, a function that cannot boot -> 503 BOOT_ERROR, and the next request is served', async () => {
  await withFixtureHost(async (base, _host, log) => {
    const { pid } = await state(base, 'alpha')
    const crashed = await fetch(`${base}/alpha/exit`)
    assertEquals(crashed.status, 500)
    assertEquals(crashed.headers.get('sb-error-code'), 'WORKER_ERROR')
    assertEquals(await crashed.json(), {
      code: 'WORKER_ERROR',
      message: 'Function exited due to an error (please check logs)',
    })
    assertEnded(log, 'alpha', pid, 'exited unexpectedly')
    assertNotEquals((await state(base, 'alpha')).pid, pid)
    for (let attempt = 0; attempt < 2; attempt++) {
      const broken = await fetch(`${base}/broken`)
      assertEquals(broken.status, 503)
      assertEquals(broken.headers.get('sb-error-code'), 'BOOT_ERROR')
      assertEquals((await broken.json()).code, 'BOOT_ERROR')
    }
    assert(log.some((line) => line.includes('failed to boot: Invalid configuration')))
  })
})

Deno.test('a function created after the host started is booted on its first request', async () => {
  const dir = await Deno.makeTempDir({ prefix: 'edge-auth-functions-' })
  const host = await stackFunctionsHost({ functionsDir: dir })
  try {
    await host.start()
    const missing = await fetch(`${host.url}/functions/v1/late/x`)
    assertEquals(missing.status, 404)
    assertEquals((await missing.json()).error, 'function_not_found')
    await Deno.mkdir(join(dir, 'late'))
    await Deno.writeTextFile(
      join(dir, 'late', 'index.ts'),
      `export default { fetch: (req: Request) => Response.json({ path: new URL(req.url).pathname, slug: Deno.env.get('SUPABASE_FUNCTION_SLUG') }) }`,
    )
    const late = await fetch(`${host.url}/functions/v1/late/x`)
    assertEquals(late.status, 200)
    assertEquals(await late.json(), { path: '/late/x', slug: 'late' })
    const health = await fetch(`${host.url}/_host/health`)
    assertEquals((await health.json()).functions, ['late'])
  } finally {
    await host.stop()
    await Deno.remove(dir, { recursive: true })
  }
})

/** Distinct valid tokens of `length` characters for one real session, signed with the stack's key. */
async function bigTokens(accessToken: string, count: number, length: number): Promise<string[]> {
  const stack = testStack()
  const jwk = JSON.parse(await Deno.readTextFile(stack.signingKeyPath!))
  const key = await importJWK({ ...jwk, key_ops: undefined }, 'ES256')
  const claims = decodeJwt(accessToken)
  const sign = (padding: string) =>
    new SignJWT({ ...claims, user_metadata: { padding } })
      .setProtectedHeader({ alg: 'ES256', kid: jwk.kid, typ: 'JWT' })
      .sign(key)
  // base64url: 4 characters per 3 bytes, rounded down so no token is longer than `length`; the
  // numbered prefix keeps every token distinct.
  const missing = length - (await sign('')).length - 4
  const pad = 'x'.repeat(Math.max(0, Math.floor((missing * 3) / 4) - 8))
  return await Promise.all(
    Array.from({ length: count }, (_, i) => sign(`${String(i).padStart(8, '0')}${pad}`)),
  )
}

Deno.test({
  name:
    "the stack's functions stay inside 256 MB: me with its token cache full of distinct 8 KB tokens (each answered 200) holds V8 heap + ArrayBuffers under 256 MB; every function's RSS and heap reported",
  ignore: !hasAuthServer,
  async fn() {
    const config = stackConfig()
    // Fresh workers: me's cache starts empty, whatever earlier tests sent it.
    await stackControl('functions/restart')
    const hostUrl = `http://127.0.0.1:${testStack().ports.functions}`
    const user = await createTestUser()
    const { access_token } = await loginUser(user)
    // Every function booted, so each reports its memory.
    for (const name of ['health', 'login', 'logout', 'me', 'notes', 'refresh', 'sessions']) {
      const response = await callFunction(name, requestInit(undefined, access_token))
      assertLessOrEqual(response.status, 499, `${name} answers`)
      await response.body?.cancel()
    }
    const meWorker = async () => {
      const workers = await workersOf(hostUrl)
      const me = workers.find((worker) => worker.name === 'me' && !worker.retiring)
      assert(me?.memory, 'me reports its memory')
      return { me: me as WorkerInfo & { memory: WorkerMemory }, workers }
    }
    const before = (await meWorker()).me

    // The largest token an Authorization header may carry: about 8 KB.
    const length = MAX_AUTHORIZATION_LENGTH - 'Bearer '.length
    const [probe] = await bigTokens(access_token, 1, length)
    const capacity = Math.min(
      config.tokenCacheSize,
      Math.floor(config.tokenCacheBytes / entryBytes(probe!)),
    )
    // A tenth more than the cache holds: it is full, and evicting.
    const tokens = await bigTokens(access_token, Math.ceil(capacity * 1.1), length)
    assert(tokens.every((token) => token.length <= length && token.length > length - 16), '8 KB')
    assertEquals(new Set(tokens).size, tokens.length, 'distinct tokens')
    let next = 0
    const statuses: Record<number, number> = {}
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < tokens.length) {
        const token = tokens[next++]!
        const response = await callFunction('me', requestInit(undefined, token))
        statuses[response.status] = (statuses[response.status] ?? 0) + 1
        await response.body?.cancel()
      }
    }))
    assertEquals(statuses, { 200: tokens.length }, 'every token verified and answered 200')

    const { me, workers } = await meWorker()
    assertEquals(me.pid, before.pid, 'one worker held the whole cache')
    const mib = (bytes: number) => (bytes / MiB).toFixed(1)
    for (const worker of workers.sort((a, b) => a.name.localeCompare(b.name))) {
      const memory = worker.memory
      if (!memory) continue
      console.log(
        `memory: ${worker.name} (pid ${worker.pid}): RSS ${mib(memory.rss)} MiB, V8 heap used ` +
          `${mib(memory.heapUsed)} MiB of ${mib(memory.heapTotal)} MiB, external ` +
          `${mib(memory.external)} MiB`,
      )
      assertLessOrEqual(
        memory.heapTotal + memory.external,
        LIMIT_BYTES - 1,
        `${worker.name} under 256 MB`,
      )
    }
    console.log(
      `memory: me's token cache: ${capacity} entries of ${length}-character tokens ` +
        `(${tokens.length} sent); me's heap in use grew ${
          mib(me.memory.heapUsed - before.memory.heapUsed)
        } MiB`,
    )
    // The cache really holds the tokens: at least their characters are in the heap.
    assertGreaterOrEqual(me.memory.heapUsed - before.memory.heapUsed, capacity * length * 0.8)
    assertLessOrEqual(me.memory.heapUsed + me.memory.external, LIMIT_BYTES - 1)
  },
})
