/**
 * CPU profiles of a server under test, through its V8 inspector (`deno serve --inspect`): Deno
 * 2.9 has no `--cpu-prof`, and the inspector's sampling profiler gives the same `.cpuprofile`
 * (open it in Chrome DevTools), plus a summary of where the time went.
 *
 * @module
 */

/** A node of a V8 CPU profile. */
interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

/** A V8 CPU profile (`Profiler.stop`'s answer). */
export interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

/** A running profiling session. */
export interface Profiler {
  /** Stops sampling and returns the profile. */
  stop(): Promise<CpuProfile>
}

/**
 * Connects to an inspector and starts sampling.
 *
 * @param inspectorPort the port given to `--inspect=127.0.0.1:<port>`
 * @param intervalMicros sampling interval
 * @returns the session
 */
export async function startProfiler(
  inspectorPort: number,
  intervalMicros = 200,
): Promise<Profiler> {
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()
  const socket = new WebSocket(targets[0].webSocketDebuggerUrl)
  await new Promise((resolve, reject) => {
    socket.onopen = resolve
    socket.onerror = reject
  })
  let nextId = 1
  const waiting = new Map<number, (result: unknown) => void>()
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data)
    if (message.id !== undefined) waiting.get(message.id)?.(message.result)
  }
  const send = (method: string, params: unknown = {}) =>
    new Promise<unknown>((resolve) => {
      const id = nextId++
      waiting.set(id, resolve)
      socket.send(JSON.stringify({ id, method, params }))
    })
  await send('Profiler.enable')
  await send('Profiler.setSamplingInterval', { interval: intervalMicros })
  await send('Profiler.start')
  return {
    async stop() {
      const { profile } = await send('Profiler.stop') as { profile: CpuProfile }
      socket.close()
      return profile
    },
  }
}

/** Self time of one function, or of one group of code. */
export interface ProfileLine {
  name: string
  percent: number
}

/**
 * Where the time went: self time per function, and per group of code (edge-auth's own modules by
 * file, Hono, jose, supabase-js, Deno's runtime, garbage collection, idle).
 *
 * @param profile the profile
 * @param top how many functions to list
 * @returns the groups and the top functions, in % of all samples
 */
export function summarize(
  profile: CpuProfile,
  top = 25,
): { groups: ProfileLine[]; functions: ProfileLine[] } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const selfTime = new Map<number, number>()
  profile.samples.forEach((id, index) => {
    selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0))
  })
  const total = [...selfTime.values()].reduce((a, b) => a + b, 0)
  const functions = new Map<string, number>()
  const groups = new Map<string, number>()
  for (const [id, time] of selfTime) {
    const frame = byId.get(id)!.callFrame
    const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : ''
    const name = `${frame.functionName || '(anonymous)'}${where ? ` ${where}` : ''}`
    functions.set(name, (functions.get(name) ?? 0) + time)
    const group = groupOf(frame.url, frame.functionName)
    groups.set(group, (groups.get(group) ?? 0) + time)
  }
  const lines = (map: Map<string, number>, limit: number) =>
    [...map].sort((a, b) => b[1] - a[1]).slice(0, limit).map(([name, time]) => ({
      name,
      percent: (time / total) * 100,
    }))
  return { groups: lines(groups, 40), functions: lines(functions, top) }
}

function shortUrl(url: string): string {
  const npm = /\/npm\/registry\.npmjs\.org\/(.+)$/.exec(url)
  if (npm) return npm[1]!
  const repo = url.indexOf('/work/main/')
  return repo >= 0 ? url.slice(repo + '/work/main/'.length) : url.replace(/^file:\/\//, '')
}

function groupOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)'
  if (url.includes('functions/_shared/')) return url.slice(url.indexOf('functions/_shared/'))
  if (url.includes('tests/bench/')) return 'tests/bench (route handler)'
  const npm = /registry\.npmjs\.org\/((?:@[^/]+\/)?[^/]+)\//.exec(url)
  if (npm) return `npm:${npm[1]}`
  if (url.startsWith('ext:')) return `deno ${url.split('/')[0]}`
  return url
}
