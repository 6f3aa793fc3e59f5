/**
 * The load generator: `wrk` (Debian's package, installed with apt-get when missing), driven with
 * a Lua script that prints its summary as JSON, and, for the distinct-token cases, hands each
 * request the next token of a file.
 *
 * @module
 */
import { join } from 'node:path'
import { processCpuSeconds } from './server_process.ts'

/** What one wrk run measured. */
export interface WrkResult {
  requests: number
  durationSeconds: number
  requestsPerSecond: number
  /** Responses with a status of 400 or more, plus socket errors and timeouts. */
  failures: number
  latencyMs: { p50: number; p90: number; p99: number; max: number }
  /** CPU time wrk used (all threads), in seconds, or null where there is no /proc. */
  cpuSeconds: number | null
}

/** Options of {@linkcode runWrk}. */
export interface WrkOptions {
  /** Loopback URL to load. */
  url: string
  threads: number
  connections: number
  durationSeconds: number
  /** Fixed request headers (e.g. one repeated `Authorization`). */
  headers?: Record<string, string>
  /** One token per line: each request sends the next one as `Authorization: Bearer <token>`. */
  tokenFile?: string
  /** Where the Lua scripts are written. */
  scriptDir: string
  /** Kills wrk when aborted (the benchmark was interrupted). */
  signal?: AbortSignal
}

// A static request is built once and replayed by wrk's C code; only `done` is Lua. Kept apart
// from the token script because wrk switches to per-request Lua as soon as `request` exists.
const REPORT_LUA = `
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"failures":%d,' ..
    '"p50":%d,"p90":%d,"p99":%d,"max":%d}\\n',
    summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
`

// Each thread keeps every n-th token (its own slice), so no two threads send the same one; the
// slices are cycled in file order, so a token returns only after every other token of the file.
const TOKENS_LUA = `
local count = 0
function setup(thread)
  count = count + 1
  thread:set('slice', count)
end

local tokens = {}
local index = 0
function init(args)
  local threads = tonumber(args[2])
  local line_number = 0
  for line in io.lines(args[1]) do
    if line_number % threads == slice - 1 then tokens[#tokens + 1] = line end
    line_number = line_number + 1
  end
end

function request()
  index = index % #tokens + 1
  wrk.headers['Authorization'] = 'Bearer ' .. tokens[index]
  return wrk.format('GET')
end
` + REPORT_LUA

/**
 * Makes sure `wrk` is on PATH, installing Debian's package when it is missing.
 *
 * @returns the version line of wrk
 * @throws Error when wrk is missing and apt-get cannot install it
 */
export async function ensureWrk(log: (message: string) => void): Promise<string> {
  const version = await wrkVersion()
  if (version) return version
  log('wrk is not installed: installing it with apt-get (Debian package "wrk")')
  let installed = await run('apt-get', ['install', '-y', '-q', 'wrk'])
  if (!installed) {
    // The package lists may be missing or stale on a fresh machine.
    await run('apt-get', ['update', '-q'])
    installed = await run('apt-get', ['install', '-y', '-q', 'wrk'])
  }
  const after = await wrkVersion()
  if (!installed || !after) {
    throw new Error('Cannot run the benchmark: wrk is missing and `apt-get install wrk` failed')
  }
  return after
}

async function wrkVersion(): Promise<string | null> {
  try {
    const output = await new Deno.Command('wrk', { args: ['--version'], stdout: 'piped' })
      .output()
    // wrk prints its version and usage, and exits 1.
    return new TextDecoder().decode(output.stdout).split('\n')[0]?.trim() || 'wrk'
  } catch {
    return null
  }
}

async function run(cmd: string, args: string[]): Promise<boolean> {
  try {
    const status = await new Deno.Command(cmd, {
      args,
      env: { DEBIAN_FRONTEND: 'noninteractive' },
      stdout: 'null',
      stderr: 'inherit',
    }).output()
    return status.success
  } catch {
    return false
  }
}

/**
 * Runs wrk once against a loopback URL.
 *
 * @param options target, concurrency, duration, headers or token file
 * @returns the parsed summary
 * @throws Error when the URL is not on loopback or wrk fails
 */
export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const url = new URL(options.url)
  // Load goes to this machine only.
  if (url.hostname !== '127.0.0.1') throw new Error(`Refusing to load a non-loopback URL: ${url}`)
  const script = join(options.scriptDir, options.tokenFile ? 'tokens.lua' : 'report.lua')
  await Deno.writeTextFile(script, options.tokenFile ? TOKENS_LUA : REPORT_LUA)
  const args = [
    `-t${options.threads}`,
    `-c${options.connections}`,
    `-d${options.durationSeconds}s`,
    '--timeout',
    '10s',
    '-s',
    script,
  ]
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    args.push('-H', `${name}: ${value}`)
  }
  args.push(url.href)
  if (options.tokenFile) args.push('--', options.tokenFile, String(options.threads))
  // wrk's CPU time lands in our children's account once it is reaped; no other child of ours
  // finishes meanwhile (the server under test is still running).
  const cpuBefore = processCpuSeconds(Deno.pid, 'children')
  const output = await new Deno.Command('wrk', {
    args,
    stdout: 'piped',
    stderr: 'piped',
    signal: options.signal,
  }).output()
  const text = new TextDecoder().decode(output.stdout)
  const line = text.split('\n').find((l) => l.startsWith('WRK_JSON '))
  if (!output.success || !line) {
    throw new Error(`wrk failed: ${text}\n${new TextDecoder().decode(output.stderr)}`)
  }
  const cpuAfter = processCpuSeconds(Deno.pid, 'children')
  const raw = JSON.parse(line.slice('WRK_JSON '.length))
  const durationSeconds = raw.duration_us / 1e6
  return {
    requests: raw.requests,
    durationSeconds,
    requestsPerSecond: raw.requests / durationSeconds,
    failures: raw.failures,
    latencyMs: {
      p50: raw.p50 / 1000,
      p90: raw.p90 / 1000,
      p99: raw.p99 / 1000,
      max: raw.max / 1000,
    },
    cpuSeconds: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore,
  }
}
