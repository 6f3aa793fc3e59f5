/**
 * The benchmark's output: one Markdown report for people, the same figures as JSON for comparing
 * runs.
 *
 * @module
 */
import type { SessionLoad } from './session_load.ts'
import { CASES, type Load, median, pairedRatios, type Step, type Target } from './cases.ts'
import type { SideBySideRates } from './side_by_side.ts'

/** One measured row. */
export interface CaseResult {
  id: string
  row: string
  label: string
  load: Load
  requestsPerSecond: number
  /** Requests per second ÷ the baseline's. */
  ratio: number | null
  latencyMs: { p50: number; p90: number; p99: number; max: number }
  requests: number
  /** Responses ≥ 400, socket errors and timeouts: a row with any is not a valid measurement. */
  failures: number
  /** JWKS fetches seen by the counting proxy: during the measured run, and over the process life. */
  jwksFetches: { run: number; total: number }
  /** Calls to the auth server's `/user` during the measured run. */
  authUserCalls: number
  /** Resident memory of the server process after the run, MiB. */
  rssMiB: number | null
  /**
   * CPU used during the measured run, in % of one core: the server process (all its threads) and
   * wrk, and the whole machine (all cores: a machine total well above server + wrk means other
   * work competed for the CPU during the run). A server near 100 % is saturated.
   */
  cpuPercent: { server: number | null; wrk: number | null; machine: number | null }
  /** Distinct-token rows: times the token file was gone through (≤ 1: no token sent twice). */
  tokenPasses?: number
  /** Every round, in order: its rate and the CPU other processes took meanwhile (% of a core). */
  rounds?: { rps: number; othersPercent: number; profiled?: boolean }[]
  /** The server's CPU was sampled during this run (`--profile`), which slows it a little. */
  profiled?: boolean
}

/** A cold-start series: one server on one Deno. */
export interface ColdStart {
  /** `me`, `token`, `peer` or `hono` (see `cold_start.ts`). */
  series: string
  /** e.g. `Deno 2.1.4`. */
  runtime: string
  label: string
  runsMs: number[]
  medianMs: number
  minMs: number
  /** Its median ÷ the peer's on the same Deno (null for the peer itself). */
  ratioToPeer: number | null
}

/** What `cache_memory.ts` prints. */
export interface CacheMemory {
  entries: number
  token_length: number
  bytes_bound: number
  heap_bytes: number
  control_heap_bytes: number
  bytes_per_entry: number
}

/** What `verify_bench.ts` writes (the parts the report uses). */
export interface VerifyInProcess {
  ops_per_second: { jose_unique: number; ours_unique: number; ours_repeated: number }
  ratios: { ours_unique_vs_jose: number; ours_repeated_vs_ours_unique: number }
  [other: string]: unknown
}

/** Everything one run measured. */
export interface BenchReport {
  date: string
  machine: Record<string, string | number>
  settings: Record<string, number | string>
  cases: CaseResult[]
  verifyInProcess: VerifyInProcess | null
  coldStart: ColdStart[]
  tokenCacheMemory: CacheMemory[] | null
  /** Database queries per second of the session check (target T7), if it ran. */
  sessionLoad: SessionLoad[] | null
  targets: Target[]
  /** T1 and T2 split into layers (see `decompose`). */
  steps: Step[]
  /** The rows of T9 and T10 measured side by side (`side_by_side.ts`), if they were. */
  sideBySide: SideBySideRates | null
}

/** Above this share of a core used by others during a row, the row is marked as disturbed. */
const DISTURBED_PERCENT = 30

/** CPU the machine spent on neither the server nor wrk during a row (other processes, kernel). */
function others(c: CaseResult): number | null {
  const { server, wrk, machine } = c.cpuPercent
  return server === null || wrk === null || machine === null
    ? null
    : Math.max(0, machine - server - wrk)
}

const percent = (value: number | null) => (value === null ? '—' : number(value))
const number = (value: number, digits = 0) =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })

/**
 * Renders the report as Markdown.
 *
 * @param report the run
 * @returns the Markdown text
 */
export function markdown(report: BenchReport): string {
  const lines: string[] = []
  const m = report.machine
  const s = report.settings
  lines.push(
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; ${m.os}; Deno ${m.deno}; ${m.wrk}.`,
    `Load: wrk, ${s.threads} threads, ${s.connections} connections, ${s.durationSeconds} s per ` +
      `row after ${s.warmupSeconds} s of warm-up, each server alone in its own process; ` +
      `${s.rounds} rounds, every round starting each server afresh; each row is the median of ` +
      `its rounds that other processes left alone (< 10 % of a core), else its least ` +
      `disturbed round; ${report.date}.`,
    '',
    '| # | case | req/s | × baseline | p50 ms | p99 ms | CPU % server / wrk / others | JWKS fetches run / total | auth `/user` calls |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  )
  let disturbed = false
  for (const c of report.cases) {
    const failed = c.failures > 0 ? ` **(${number(c.failures)} failed requests)**` : ''
    // Rows whose own peer calls the auth server or the JWKS make "others" work by design.
    const busyOthers = (others(c) ?? 0) > DISTURBED_PERCENT && c.authUserCalls === 0 &&
      c.jwksFetches.run === 0
    disturbed ||= busyOthers
    lines.push(
      `| ${c.row}${busyOthers ? ' †' : ''} | ${c.label}${failed} | ${
        number(c.requestsPerSecond)
      } | ${c.ratio === null ? '—' : `${number(c.ratio, 2)}×`} | ${number(c.latencyMs.p50, 2)} | ${
        number(c.latencyMs.p99, 2)
      } | ${percent(c.cpuPercent.server)} / ${percent(c.cpuPercent.wrk)} / ${
        percent(others(c))
      } | ${c.jwksFetches.run} / ${c.jwksFetches.total} | ${number(c.authUserCalls)} |`,
    )
  }
  if (disturbed) {
    lines.push(
      '',
      `† other processes took more than ${DISTURBED_PERCENT} % of a core during this row: its ` +
        'figure is lower than the machine can do; rerun when the machine is quiet.',
    )
  }
  if (report.sideBySide) lines.push('', ...sideBySideRows(report.sideBySide))
  lines.push('', ...targetRows(report.targets))
  for (const load of report.sessionLoad ?? []) {
    lines.push(
      `Session check load, ${number(load.sessions)} live sessions, ${load.mode}: ${
        number(load.queriesPerSecond, 1)
      } database queries/s.`,
    )
  }
  if (report.steps.length > 0) {
    lines.push(
      '',
      'Where (1) and (2) lose against (0), each layer as a share of the rate before it: ' +
        report.steps.map((s) => `${s.description} ${number(s.ratio, 2)}×`).join('; ') + '.',
    )
  }
  lines.push('')
  for (const c of report.coldStart) {
    lines.push(
      `Cold start on ${c.runtime}, ${c.label}: median ${number(c.medianMs)} ms` +
        (c.ratioToPeer === null ? '' : ` (${number(c.ratioToPeer, 2)}× the peer's)`) +
        `, best ${number(c.minMs)} ms (${c.runsMs.length} run${c.runsMs.length === 1 ? '' : 's'}: ${
          c.runsMs.map((ms) => number(ms)).join(', ')
        }).`,
    )
  }
  for (const mem of report.tokenCacheMemory ?? []) {
    lines.push(
      `Token cache after ${number(mem.entries)} distinct tokens of ${mem.token_length} ` +
        `characters (bound ${number(mem.bytes_bound / 2 ** 20)} MiB): ${
          number(mem.heap_bytes / 2 ** 20, 1)
        } MiB of heap, ${number(mem.bytes_per_entry)} bytes per token verified (control without ` +
        `cache: ${number(mem.control_heap_bytes / 2 ** 20, 1)} MiB).`,
    )
  }
  const v = report.verifyInProcess
  if (v) {
    lines.push(
      `In process (verify_bench.ts): jose \`jwtVerify\` ${
        number(v.ops_per_second.jose_unique)
      }/s, ` +
        `ours ${number(v.ops_per_second.ours_unique)}/s on distinct tokens (${
          number(v.ratios.ours_unique_vs_jose, 2)
        }×), ours ${number(v.ops_per_second.ours_repeated)}/s on a repeated token.`,
    )
  }
  return lines.join('\n')
}

/**
 * The measurement side by side as a table: each row's median rate, and its rate ÷ the baseline's
 * around its turn, the median and the middle half of those ratios.
 */
function sideBySideRows(sideBySide: SideBySideRates): string[] {
  const { sets, cycles, turnSeconds } = sideBySide.settings
  const { baseline, turns } = sideBySide
  const ids = [...new Set(turns.flatMap((turn) => Object.keys(turn)))].filter((id) =>
    id !== baseline
  )
  const rowOf = (id: string) => CASES.find((c) => c.id === id)!
  const base = rowOf(baseline)
  const lines = [
    `Side by side (T9 and T10 come from here): ${sets} set${sets === 1 ? '' : 's'} of fresh ` +
    `server processes running at once, loaded ${turnSeconds} s at a time in turn, ` +
    `${base.row} before and after every other row's turn, ${cycles} turns of each ` +
    `row per set; a row's ratio is the median, over its turns, of its rate ÷ the mean of the two ` +
    `${base.row} turns around it.`,
    '',
    `| # | case | median req/s | ÷ ${base.row}, median of turns | middle half of turns |`,
    '|---|---|---:|---:|---:|',
    `| ${base.row} | ${base.label} | ${
      number(median(turns.map((turn) => turn[baseline]!)))
    } | — | — |`,
  ]
  for (const id of ids) {
    const ratios = pairedRatios(turns, id, baseline).sort((a, b) => a - b)
    const quarter = (q: number) => ratios[Math.floor(q * (ratios.length - 1))]!
    const rates = turns.filter((turn) => turn[id] !== undefined).map((turn) => turn[id]!)
    lines.push(
      `| ${rowOf(id).row} | ${rowOf(id).label} | ${number(median(rates))} | ${
        number(median(ratios), 2)
      }× | ${number(quarter(0.25), 2)}–${number(quarter(0.75), 2)}× |`,
    )
  }
  return lines
}

/**
 * The JSON form (snake_case keys, rounded figures), for `--out`.
 *
 * @param report the run
 * @returns the JSON-ready object
 */
export function toJson(report: BenchReport): unknown {
  const round = (value: number, digits = 2) => Number(value.toFixed(digits))
  return {
    date: report.date,
    machine: report.machine,
    settings: report.settings,
    cases: report.cases.map((c) => ({
      id: c.id,
      row: c.row,
      label: c.label,
      load: c.load,
      requests_per_second: Math.round(c.requestsPerSecond),
      ratio_to_baseline: c.ratio === null ? null : round(c.ratio, 3),
      latency_ms: {
        p50: round(c.latencyMs.p50, 3),
        p90: round(c.latencyMs.p90, 3),
        p99: round(c.latencyMs.p99, 3),
        max: round(c.latencyMs.max, 3),
      },
      requests: c.requests,
      failures: c.failures,
      jwks_fetches: c.jwksFetches,
      auth_user_calls: c.authUserCalls,
      rss_mib: c.rssMiB === null ? null : round(c.rssMiB, 1),
      cpu_percent: {
        server: c.cpuPercent.server === null ? null : round(c.cpuPercent.server, 1),
        wrk: c.cpuPercent.wrk === null ? null : round(c.cpuPercent.wrk, 1),
        machine: c.cpuPercent.machine === null ? null : round(c.cpuPercent.machine, 1),
      },
      ...(c.tokenPasses === undefined ? {} : { token_passes: round(c.tokenPasses, 2) }),
      rounds: (c.rounds ?? []).map((r) => ({
        requests_per_second: Math.round(r.rps),
        others_cpu_percent: round(r.othersPercent, 1),
        ...(r.profiled ? { profiled: true } : {}),
      })),
    })),
    verify_in_process: report.verifyInProcess,
    cold_start_ms: report.coldStart.map((c) => ({
      series: c.series,
      runtime: c.runtime,
      label: c.label,
      median: round(c.medianMs, 1),
      min: round(c.minMs, 1),
      runs: c.runsMs.map((ms) => round(ms, 1)),
    })),
    token_cache_memory: report.tokenCacheMemory,
    session_load: report.sessionLoad?.map((l) => ({
      sessions: l.sessions,
      mode: l.mode,
      queries_per_second: round(l.queriesPerSecond, 2),
    })) ?? null,
    targets: report.targets.map((t) => ({
      ...t,
      value: t.value === null ? null : round(t.value, 3),
    })),
    steps: report.steps.map((s) => ({ ...s, ratio: round(s.ratio, 3) })),
    side_by_side: report.sideBySide === null ? null : {
      sets: report.sideBySide.settings.sets,
      cycles_per_set: report.sideBySide.settings.cycles,
      turn_seconds: report.sideBySide.settings.turnSeconds,
      baseline: report.sideBySide.baseline,
      // Per turn: the row's rate, and the baseline's (mean of the turns before and after).
      turns: report.sideBySide.turns.map((turn) =>
        Object.fromEntries(Object.entries(turn).map(([id, rps]) => [id, Math.round(rps)]))
      ),
    },
  }
}

/**
 * The cold-start part alone: a table of medians per server and Deno (× `@supabase/server`'s on the
 * same Deno), then its targets.
 *
 * @param cold the series, from `measureColdStarts`
 * @param targets the cold-start targets (T8...)
 * @returns the Markdown text
 */
export function coldStartMarkdown(cold: readonly ColdStart[], targets: readonly Target[]): string {
  const runtimes = [...new Set(cold.map((c) => c.runtime))]
  const series = [...new Set(cold.map((c) => c.series))]
  const lines = [
    `| server | ${runtimes.map((r) => `${r}: median ms (× peer), runs`).join(' | ')} |`,
    `|---|${runtimes.map(() => '---:').join('|')}|`,
  ]
  for (const id of series) {
    const cells = runtimes.map((runtime) => {
      const c = cold.find((x) => x.series === id && x.runtime === runtime)
      if (c === undefined) return '—'
      const ratio = c.ratioToPeer === null ? '' : ` (${number(c.ratioToPeer, 2)}×)`
      return `${number(c.medianMs)}${ratio}, ${c.runsMs.length}`
    })
    const label = cold.find((x) => x.series === id)!.label
    lines.push(`| ${label} | ${cells.join(' | ')} |`)
  }
  lines.push('', ...targetRows(targets))
  return lines.join('\n')
}

/** The targets as a Markdown table: measured, required, and whether met (how far off if not). */
function targetRows(targets: readonly Target[]): string[] {
  const lines = ['| target | measured | required | met |', '|---|---:|---:|---|']
  for (const t of targets) {
    const value = t.value === null ? 'not run' : `${number(t.value, 2)}${t.unit}`
    const met = t.met === null
      ? '—'
      : t.met
      ? 'yes'
      : `**no** (${number(t.value! / t.required * 100)} % of the ${
        t.bound === 'at least' ? 'target' : 'bound'
      })`
    const bound = t.bound === 'at least' ? '≥' : '≤'
    lines.push(`| ${t.id} ${t.description} | ${value} | ${bound} ${t.required}${t.unit} | ${met} |`)
  }
  return lines
}
