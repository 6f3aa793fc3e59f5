/**
 * Which Deno runs the functions host. By default the one running the stack; with
 * `EDGE_AUTH_FUNCTIONS_DENO=/path/to/deno` another binary, for example Deno 2.1.4, the version
 * Supabase's edge runtime embeds, while the stack and the tests stay on the project's Deno.
 *
 * @module
 */
import { dirname, join } from 'node:path'
import { runCommand } from './processes.ts'

/** The Deno binary of the functions host. */
export interface FunctionsRuntime {
  /** Absolute path of the binary. */
  path: string
  /** Its version, e.g. `2.1.4`. */
  version: string
  /**
   * Another binary than the stack's own: it may not read the project's lockfile (Deno 2.1 knows
   * only lockfile v4), so it runs without one.
   */
  foreign: boolean
}

/** The Deno running this process, as a functions runtime (nothing to probe). */
export function thisRuntime(): FunctionsRuntime {
  return { path: Deno.execPath(), version: Deno.version.deno, foreign: false }
}

/**
 * Resolves and probes the functions' Deno.
 *
 * @param option an explicit binary, which wins over `EDGE_AUTH_FUNCTIONS_DENO`
 * @returns the binary and its version
 * @throws Error when the binary cannot be run or does not say it is Deno
 */
export async function resolveFunctionsRuntime(option?: string): Promise<FunctionsRuntime> {
  const requested = option ?? (Deno.env.get('EDGE_AUTH_FUNCTIONS_DENO') || undefined)
  if (requested === undefined) return thisRuntime()
  let path: string
  try {
    path = Deno.realPathSync(requested)
  } catch {
    throw new Error(`EDGE_AUTH_FUNCTIONS_DENO=${requested} does not exist`)
  }
  // npm's `.bin/deno` is a Node launcher beside the real binary; Node would stand between the
  // host and the signals that stop it.
  if (path.endsWith('/bin.cjs') && isFile(join(dirname(path), 'deno'))) {
    path = join(dirname(path), 'deno')
  }
  let output = ''
  try {
    output = (await runCommand(path, ['--version'])).stdout
  } catch (err) {
    throw new Error(`EDGE_AUTH_FUNCTIONS_DENO=${requested} cannot run: ${(err as Error).message}`)
  }
  const version = /^deno (\d+\.\d+\.\d+)/.exec(output)?.[1]
  if (!version) {
    throw new Error(`EDGE_AUTH_FUNCTIONS_DENO=${requested} is not a Deno binary (--version)`)
  }
  const foreign = path !== Deno.realPathSync(Deno.execPath())
  return { path, version, foreign }
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile
  } catch {
    return false
  }
}

/**
 * What another Deno needs in its environment besides ours: Deno 2.1 ignores `SSL_CERT_FILE`, so
 * behind a proxy with its own certificate authority it could not fetch npm packages without
 * `DENO_CERT` pointing at the same file.
 *
 * @param runtime the Deno about to run
 * @param env the environment it will get
 * @returns the variables to add (none for our own Deno or when `DENO_CERT` is set)
 */
export function foreignRuntimeEnv(
  runtime: FunctionsRuntime,
  env: Record<string, string | undefined>,
): Record<string, string> {
  if (!runtime.foreign || !env.SSL_CERT_FILE || env.DENO_CERT) return {}
  return { DENO_CERT: env.SSL_CERT_FILE }
}
