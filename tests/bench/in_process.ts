/**
 * The parts of the benchmark that run in one process, each in a child of its own: the verifier
 * against jose (`verify_bench.ts`) and the memory of a full token cache (`cache_memory.ts`); and
 * the description of the machine the report names.
 *
 * @module
 */
import { decodeJwt } from 'jose'
import { join } from 'node:path'
import { repoRoot } from '../../supabase/local/paths.ts'
import type { CacheMemory, VerifyInProcess } from './report.ts'

/**
 * Runs `verify_bench.ts` in its own process.
 *
 * @param workDir where its JSON goes
 * @param signal kills the child when aborted
 * @returns its JSON
 */
export async function runVerifyBench(
  workDir: string,
  signal: AbortSignal,
): Promise<VerifyInProcess> {
  const file = join(workDir, 'verify.json')
  await runDeno(['run', '--allow-all', 'tests/bench/verify_bench.ts', '--out', file], signal)
  return JSON.parse(await Deno.readTextFile(file))
}

/**
 * Runs `cache_memory.ts` with a real token's claims, so entries have their real size, and again
 * with the same claims grown to 8 KB tokens (large `user_metadata`), where the byte bound holds.
 *
 * @param workDir where the claims are written for the child
 * @param token a real access token
 * @param signal kills the child when aborted
 * @returns what it measured, real tokens first
 */
export async function runCacheMemory(
  workDir: string,
  token: string,
  signal: AbortSignal,
): Promise<CacheMemory[]> {
  const payload = join(workDir, 'payload.json')
  await Deno.writeTextFile(payload, JSON.stringify(decodeJwt(token)))
  const results: CacheMemory[] = []
  for (const extra of [[], ['--token-bytes', '8192']]) {
    const stdout = await runDeno([
      'run',
      '--allow-all',
      '--v8-flags=--expose-gc',
      'tests/bench/cache_memory.ts',
      '--payload',
      payload,
      ...extra,
    ], signal)
    results.push(JSON.parse(stdout.trim().split('\n').pop()!))
  }
  return results
}

async function runDeno(args: string[], signal: AbortSignal): Promise<string> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: repoRoot,
    stdout: 'piped',
    stderr: 'inherit',
    signal,
  }).output()
  if (!output.success) throw new Error(`deno ${args.join(' ')} failed`)
  return new TextDecoder().decode(output.stdout)
}

/**
 * What the report says about the machine.
 *
 * @param wrk wrk's version line
 * @returns CPU model, cores, memory, OS, Deno and V8 versions, wrk
 */
export async function machineInfo(wrk: string): Promise<Record<string, string | number>> {
  let cpu = 'unknown CPU'
  try {
    const info = await Deno.readTextFile('/proc/cpuinfo')
    cpu = /model name\s*:\s*(.+)/.exec(info)?.[1]?.trim() ?? cpu
  } catch {
    // Not Linux: the name is only informative.
  }
  return {
    cpu,
    cores: navigator.hardwareConcurrency,
    memoryGiB: Math.round(Deno.systemMemoryInfo().total / 2 ** 30),
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    wrk,
  }
}
