/**
 * `deno task soak`: a mixed load against a running stack for a given time, then a report of
 * requests, answers per kind, unexpected answers (must be 0), latency percentiles and the memory
 * of the functions host process. The hostile-suite test `tests/hostile/soak_test.ts` runs a few
 * seconds of it and asserts the unexpected count; the figures are printed, never asserted.
 *
 * Usage: deno run --allow-all tests/soak/soak.ts [--duration 60] [--concurrency 8]
 *          [--stack path/to/stack.json] [--ephemeral] [--heap [--env NAME=VALUE ...]]
 *
 * `--heap` sends the load to a functions host of the soak's own with the V8 inspector on
 * loopback (`heap.ts`) and reports its heap after a forced garbage collection every 10 s: the
 * memory the instance really holds, where RSS also counts heap V8 merely keeps. `--env` passes
 * settings to that host, e.g. `--env EDGE_AUTH_TOKEN_CACHE_SIZE=500` to see the bound sooner.
 *
 * The stack: `--stack`, else `EDGE_AUTH_TEST_STACK`, else `.local/stack.json` of a running
 * `deno task start`, else (or with `--ephemeral`) a stack of its own, stopped at the end. Kinds
 * that mint tokens (expired tokens, sessions that never existed) need a stack that publishes its
 * signing key (test stacks do, `deno task start` does not); without it they are left out.
 *
 * Each worker owns a user and its sessions, so the expected answer of every request is known:
 *
 * | kind          | request                                             | expected |
 * | ------------- | --------------------------------------------------- | -------- |
 * | me            | GET /me, the worker's live access token             | 200      |
 * | notes_post    | POST /notes                                         | 201      |
 * | notes_list    | GET /notes?limit=5                                  | 200      |
 * | me_expired    | GET /me, a minted token whose exp has passed         | 401      |
 * | me_ghost      | GET /me, a minted token of a session never created   | 401      |
 * | me_revoked    | GET /me, a token logged out over 1.5 s ago           | 401      |
 * | me_garbage    | GET /me, garbage or a damaged token                 | 400, 401 |
 * | login         | POST /login, right password                         | 200      |
 * | login_wrong   | POST /login, wrong password                         | 400      |
 * | refresh       | POST /refresh, the worker's refresh token           | 200      |
 * | logout        | POST /logout?scope=local, then a new login          | 204      |
 * | health        | GET /health                                         | 200      |
 *
 * @module
 */
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { repoRoot, statePaths } from '../../supabase/local/paths.ts'
import { lockOwner } from '../../supabase/local/state.ts'
import { type InspectedHost, startInspectedHost } from './heap.ts'
import {
  callFunction,
  createTestUser,
  type DedicatedStack,
  mintToken,
  requestInit,
  type SessionTokens,
  startTestStack,
  type TestStack,
  type TestUser,
} from '../_helpers/stack.ts'

/** Options of {@linkcode runSoak}. */
export interface SoakOptions {
  /** Reads the stack's current stack.json (its functions host pid changes on a restart). */
  stack: () => TestStack
  durationMs: number
  /** Workers sending requests one after another (default 8). */
  concurrency?: number
  /** Progress lines (default none). */
  log?: (line: string) => void
  /** The functions' heap after a forced GC, in bytes, sampled every 10 s when given. */
  heapAfterGc?: () => Promise<number>
}

/** Latency percentiles in milliseconds. */
export interface Percentiles {
  count: number
  p50: number
  p99: number
}

/** What a soak run saw. */
export interface SoakReport {
  durationMs: number
  requests: number
  /** Answers per kind and status, e.g. `me 200`; status 0 is a network error. */
  statuses: Record<string, number>
  unexpected: number
  /** Up to 10 unexpected answers, for a first look. */
  unexpectedSamples: string[]
  latency: Percentiles
  latencyByKind: Record<string, Percentiles>
  /** Kinds left out, and why. */
  skipped: string[]
  /** Distinct well-signed tokens sent (each may enter the functions' token cache). */
  distinctTokens: number
  /** The functions host's resident memory in KiB (VmRSS), sampled about every second. */
  memory: {
    startKib: number | null
    endKib: number | null
    peakKib: number | null
    series: number[]
    /** Heap after a forced GC in bytes, every 10 s and at the end (with `heapAfterGc`). */
    heapAfterGc: number[]
  }
}

type Kind =
  | 'me'
  | 'notes_post'
  | 'notes_list'
  | 'me_expired'
  | 'me_ghost'
  | 'me_revoked'
  | 'me_garbage'
  | 'login'
  | 'login_wrong'
  | 'refresh'
  | 'logout'
  | 'health'

const EXPECTED: Record<Kind, number[]> = {
  me: [200],
  notes_post: [201],
  notes_list: [200],
  me_expired: [401],
  me_ghost: [401],
  me_revoked: [401],
  me_garbage: [400, 401],
  login: [200],
  login_wrong: [400],
  refresh: [200],
  logout: [204],
  health: [200],
}

// Relative frequencies: mostly authenticated reads, as an application would send.
const WEIGHTS: [Kind, number][] = [
  ['me', 30],
  ['notes_post', 6],
  ['notes_list', 8],
  ['me_expired', 5],
  ['me_ghost', 10],
  ['me_revoked', 5],
  ['me_garbage', 10],
  ['login', 3],
  ['login_wrong', 3],
  ['refresh', 4],
  ['logout', 2],
  ['health', 2],
]

/** Revocation reaches another function's instance within the session cache TTL (1 s). */
const REVOKED_SETTLE_MS = 1_500

/** Resident memory of a process in KiB, from /proc (Linux), or null. */
function rssKib(pid: number | null): number | null {
  if (pid === null) return null
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`)
    const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]
    return kib === undefined ? null : Number(kib)
  } catch {
    return null
  }
}

/** The child processes of a process (every thread's children), from /proc (Linux). */
function childPids(pid: number): number[] {
  const children: number[] = []
  try {
    for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
      const text = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/children`)
      for (const child of text.trim().split(/\s+/)) if (child) children.push(Number(child))
    }
  } catch {
    // The process ended while we looked.
  }
  return children
}

/**
 * Resident memory of the functions host and every function's worker process under it, in KiB:
 * each function runs in a process of its own, so the host's own figure says little.
 */
function treeRssKib(pid: number | null): number | null {
  const own = rssKib(pid)
  if (pid === null || own === null) return own
  return childPids(pid).reduce((sum, child) => sum + (treeRssKib(child) ?? 0), own)
}

function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
  return { count: sorted.length, p50: round(at(0.5)), p99: round(at(0.99)) }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10
}

function garbage(token: string, n: number): string {
  const choices = [
    'not-a-token',
    'a.b.c',
    `${token.slice(0, -4)}AAAA`,
    token.slice(0, Math.floor(token.length / 2)),
    `${token}.${token}`,
    `eyJhbGciOiJub25lIn0.${token.split('.')[1]}.`,
    crypto.randomUUID(),
    // Whitespace or a comma in the credentials: a malformed header (400).
    `${token} extra`,
    `${token},`,
  ]
  return choices[n % choices.length]!
}

/**
 * Runs the mixed load against a stack.
 *
 * @param options the stack, duration and concurrency
 * @returns the report
 */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const stack = options.stack
  const log = options.log ?? (() => {})
  const concurrency = options.concurrency ?? 8
  const canMint = Boolean(stack().signingKeyPath)
  const skipped = canMint
    ? []
    : ['me_expired and me_ghost: the stack does not publish its signing key']
  const kinds = WEIGHTS.filter(([kind]) =>
    canMint || (kind !== 'me_expired' && kind !== 'me_ghost')
  )
  const totalWeight = kinds.reduce((sum, [, w]) => sum + w, 0)
  const pick = () => {
    let r = Math.random() * totalWeight
    for (const [kind, weight] of kinds) if ((r -= weight) < 0) return kind
    return kinds[0]![0]
  }

  const statuses: Record<string, number> = {}
  const latencies: number[] = []
  const byKind: Record<string, number[]> = {}
  const unexpectedSamples: string[] = []
  let unexpected = 0
  const tokens = new Set<string>()
  const revoked: { token: string; at: number }[] = []

  async function send(kind: Kind, request: () => Promise<Response>): Promise<Response | null> {
    const started = performance.now()
    let response: Response | null = null
    let status = 0
    let detail = ''
    try {
      response = await request()
      status = response.status
      if (!EXPECTED[kind].includes(status)) detail = await response.clone().text()
    } catch (error) {
      detail = error instanceof Error ? error.name : String(error)
    }
    const ms = performance.now() - started
    latencies.push(ms)
    ;(byKind[kind] ??= []).push(ms)
    statuses[`${kind} ${status}`] = (statuses[`${kind} ${status}`] ?? 0) + 1
    if (!EXPECTED[kind].includes(status)) {
      unexpected++
      if (unexpectedSamples.length < 10) {
        unexpectedSamples.push(`${kind} -> ${status} ${detail.slice(0, 200)}`)
      }
      await response?.body?.cancel()
      return null
    }
    return response
  }

  async function newSession(user: TestUser): Promise<SessionTokens> {
    const response = await send(
      'login',
      () =>
        callFunction('login', requestInit({ email: user.email, password: user.password }), stack()),
    )
    if (!response) throw new Error('login failed')
    const session = await response.json() as SessionTokens
    tokens.add(session.access_token)
    return session
  }

  async function worker(user: TestUser, deadline: number, id: number): Promise<void> {
    let session = await newSession(user)
    for (let n = id; performance.now() < deadline; n++) {
      const kind = pick()
      const bearer = (token: string) => requestInit(undefined, token)
      const drain = async (response: Response | null) => await response?.body?.cancel()
      switch (kind) {
        case 'me':
          await drain(
            await send(kind, () => callFunction('me', bearer(session.access_token), stack())),
          )
          break
        case 'notes_post':
          await drain(
            await send(
              kind,
              () =>
                callFunction(
                  'notes',
                  requestInit({ body: `soak ${n}` }, session.access_token),
                  stack(),
                ),
            ),
          )
          break
        case 'notes_list':
          await drain(
            await send(
              kind,
              () => callFunction('notes?limit=5', bearer(session.access_token), stack()),
            ),
          )
          break
        case 'me_expired':
        case 'me_ghost': {
          const now = Math.floor(Date.now() / 1000)
          const token = await mintToken(
            kind === 'me_expired'
              ? { sub: user.id, iat: now - 120, exp: now - 60 }
              : { sub: user.id },
            stack(),
          )
          if (kind === 'me_ghost') tokens.add(token)
          await drain(await send(kind, () => callFunction('me', bearer(token), stack())))
          break
        }
        case 'me_revoked': {
          const settled = revoked.filter((r) => performance.now() - r.at > REVOKED_SETTLE_MS)
          const target = settled[n % Math.max(1, settled.length)]
          if (!target) break
          await drain(await send(kind, () => callFunction('me', bearer(target.token), stack())))
          break
        }
        case 'me_garbage':
          await drain(
            await send(
              kind,
              () => callFunction('me', bearer(garbage(session.access_token, n)), stack()),
            ),
          )
          break
        case 'login': {
          // Sign the extra session out again, so that sessions do not pile up.
          const extra = await newSession(user)
          await drain(
            await send(
              'logout',
              () =>
                callFunction(
                  'logout?scope=local',
                  requestInit(undefined, extra.access_token, 'POST'),
                  stack(),
                ),
            ),
          )
          revoked.push({ token: extra.access_token, at: performance.now() })
          break
        }
        case 'login_wrong':
          await drain(
            await send(
              kind,
              () =>
                callFunction(
                  'login',
                  requestInit({ email: user.email, password: 'wrong-password' }),
                  stack(),
                ),
            ),
          )
          break
        case 'refresh': {
          const response = await send(
            kind,
            () =>
              callFunction(
                'refresh',
                requestInit({ refresh_token: session.refresh_token }),
                stack(),
              ),
          )
          if (response) {
            session = await response.json() as SessionTokens
            tokens.add(session.access_token)
          }
          break
        }
        case 'logout': {
          const response = await send(
            kind,
            () =>
              callFunction(
                'logout?scope=local',
                requestInit(undefined, session.access_token, 'POST'),
                stack(),
              ),
          )
          await drain(response)
          if (response) {
            revoked.push({ token: session.access_token, at: performance.now() })
            session = await newSession(user)
          }
          break
        }
        case 'health':
          await drain(await send(kind, () => callFunction('health', {}, stack())))
          break
      }
      // Keep the revoked pool small: the newest are enough.
      if (revoked.length > 200) revoked.splice(0, revoked.length - 200)
    }
  }

  const users = await Promise.all(
    Array.from({ length: concurrency }, () => createTestUser({ stack: stack() })),
  )
  const pid = () => stack().pids.functions
  const memory: SoakReport['memory'] = {
    startKib: treeRssKib(pid()),
    endKib: null,
    peakKib: null,
    series: [],
    heapAfterGc: [],
  }
  const heap = options.heapAfterGc
  if (heap) memory.heapAfterGc.push(await heap())
  const sampler = setInterval(() => {
    const kib = treeRssKib(pid())
    if (kib !== null) memory.series.push(kib)
  }, 1000)
  const started = performance.now()
  const deadline = started + options.durationMs
  const progress = setInterval(() => {
    heap?.().then((bytes) => memory.heapAfterGc.push(bytes))
    log(
      `soak: ${
        Math.round((performance.now() - started) / 1000)
      }s, ${latencies.length} requests, ${unexpected} unexpected`,
    )
  }, 10_000)
  try {
    await Promise.all(users.map((user, i) => worker(user, deadline, i)))
  } finally {
    clearInterval(sampler)
    clearInterval(progress)
  }
  if (heap) memory.heapAfterGc.push(await heap())
  memory.endKib = treeRssKib(pid())
  const all = [...memory.series, memory.startKib ?? 0, memory.endKib ?? 0]
  memory.peakKib = memory.startKib === null ? null : Math.max(...all)
  return {
    durationMs: Math.round(performance.now() - started),
    requests: latencies.length,
    statuses,
    unexpected,
    unexpectedSamples,
    latency: percentiles(latencies),
    latencyByKind: Object.fromEntries(
      Object.entries(byKind).map(([kind, values]) => [kind, percentiles(values)]),
    ),
    skipped,
    distinctTokens: tokens.size,
    memory,
  }
}

/** The report as lines for a terminal. */
export function formatReport(report: SoakReport): string {
  const mib = (kib: number | null) => (kib === null ? 'n/a' : `${(kib / 1024).toFixed(1)} MiB`)
  const lines = [
    `soak: ${report.requests} requests in ${(report.durationMs / 1000).toFixed(1)}s, ` +
    `${report.unexpected} unexpected`,
    `soak: latency p50 ${report.latency.p50} ms, p99 ${report.latency.p99} ms`,
    ...Object.entries(report.latencyByKind).sort().map(([kind, p]) =>
      `soak:   ${kind.padEnd(11)} ${
        String(p.count).padStart(6)
      } requests, p50 ${p.p50} ms, p99 ${p.p99} ms`
    ),
    `soak: answers ${
      Object.entries(report.statuses).sort().map(([key, n]) => `${key}: ${n}`).join(', ')
    }`,
    `soak: functions host RSS ${mib(report.memory.startKib)} at start, ${
      mib(report.memory.endKib)
    } at end, peak ${
      mib(report.memory.peakKib)
    }; ${report.distinctTokens} distinct signed tokens sent`,
  ]
  if (report.memory.heapAfterGc.length > 0) {
    lines.push(
      `soak: functions heap after a forced GC, every 10 s (MiB): ${
        report.memory.heapAfterGc.map((bytes) => (bytes / 1048576).toFixed(1)).join(' ')
      }`,
    )
  }
  if (report.memory.series.length > 0) {
    const step = Math.max(1, Math.floor(report.memory.series.length / 12))
    const series = report.memory.series.filter((_, i) => i % step === 0)
    lines.push(
      `soak: RSS every ${step}s (MiB): ${series.map((kib) => (kib / 1024).toFixed(0)).join(' ')}`,
    )
  }
  for (const reason of report.skipped) lines.push(`soak: left out ${reason}`)
  for (const sample of report.unexpectedSamples) lines.push(`soak: UNEXPECTED ${sample}`)
  return lines.join('\n')
}

/** The stack file to use: an explicit path, the test variable, or a running `deno task start`. */
function existingStackFile(explicit: string | undefined): string | null {
  if (explicit) return explicit
  const fromEnv = Deno.env.get('EDGE_AUTH_TEST_STACK')
  if (fromEnv) return fromEnv
  const local = statePaths(join(repoRoot, '.local'))
  // Only a stack whose supervisor still runs: a stale stack.json would send the load nowhere.
  return lockOwner(local) !== null ? local.stackJson : null
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      duration: { type: 'string', default: '60' },
      concurrency: { type: 'string', default: '8' },
      stack: { type: 'string' },
      ephemeral: { type: 'boolean', default: false },
      heap: { type: 'boolean', default: false },
      env: { type: 'string', multiple: true, default: [] },
    },
  })
  const durationMs = Number(values.duration) * 1000
  const concurrency = Number(values.concurrency)
  if (!(durationMs > 0) || !(concurrency >= 1)) {
    throw new Error('--duration and --concurrency must be positive')
  }
  const file = values.ephemeral ? null : existingStackFile(values.stack)
  let dedicated: DedicatedStack | null = null
  let stack: () => TestStack
  if (file) {
    console.log(`soak: against the stack of ${file}`)
    stack = () => JSON.parse(Deno.readTextFileSync(file)) as TestStack
  } else {
    console.log('soak: starting a stack of its own')
    dedicated = await startTestStack()
    const own = dedicated
    stack = () => own.info
  }
  let inspected: InspectedHost | null = null
  try {
    if (!stack().authServer) {
      throw new Error('The stack runs without the auth server: nothing to soak')
    }
    if (values.heap) {
      const extra = Object.fromEntries(values.env.map((pair) => {
        const at = pair.indexOf('=')
        if (at < 1) throw new Error(`--env wants NAME=VALUE, got ${pair}`)
        return [pair.slice(0, at), pair.slice(at + 1)]
      }))
      inspected = await startInspectedHost(stack(), extra)
      const host = inspected
      const base = stack
      console.log(`soak: load sent to an inspected functions host (pid ${host.pid})`)
      stack = () => ({
        ...base(),
        functionsUrl: host.functionsUrl,
        pids: { ...base().pids, functions: host.pid },
      })
    }
    console.log(`soak: ${concurrency} workers for ${durationMs / 1000}s`)
    const report = await runSoak({
      stack,
      durationMs,
      concurrency,
      log: console.log,
      heapAfterGc: inspected?.heapAfterGc,
    })
    console.log(formatReport(report))
    return report.unexpected === 0 ? 0 : 1
  } finally {
    await inspected?.stop()
    await dedicated?.dispose()
  }
}

if (import.meta.main) Deno.exit(await main())
