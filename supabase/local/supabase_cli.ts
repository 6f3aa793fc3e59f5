/**
 * The Supabase CLI, at the version this project documents, run through Deno's npm support: no
 * global install, and the same binary for the local stack, the tests and CI. Commands that need
 * Docker or a hosted project cannot run here; those that work on a database URL (`migration up
 * --remote=<url>`, `db push --remote=<url>`) and those that only read `supabase/config.toml` do.
 *
 * @module
 */
import { runCommand, type RunResult } from './processes.ts'

/** The CLI version the README's commands pin (`npx supabase@3.1.0 …`). */
export const supabaseCliVersion = '3.1.0'

/** The npm specifier of that version. */
export const supabaseCliPackage = `npm:supabase@${supabaseCliVersion}`

/** Options for {@linkcode runSupabaseCli}. */
export interface SupabaseCliOptions {
  /** The folder holding `supabase/` (passed as `--workdir`, so no ancestor is searched). */
  workdir: string
  /** Extra environment (e.g. `SUPABASE_ACCESS_TOKEN`); telemetry is always off. */
  env?: Record<string, string>
}

/**
 * Runs `supabase <args>` and waits for it.
 *
 * @param args the command and its flags, e.g. `['migration', 'up', '--remote=…', '--yes']`
 * @param options the project folder and extra environment
 * @returns exit code, stdout and stderr
 */
export function runSupabaseCli(args: string[], options: SupabaseCliOptions): Promise<RunResult> {
  return runCommand(
    Deno.execPath(),
    // --no-config/--no-lock: the CLI is a tool, not a dependency of the project, so running it
    // never rewrites the project's deno.lock.
    [
      'run',
      '--allow-all',
      '--no-config',
      '--no-lock',
      supabaseCliPackage,
      ...args,
      `--workdir=${options.workdir}`,
    ],
    {
      cwd: options.workdir,
      env: {
        DO_NOT_TRACK: '1',
        SUPABASE_TELEMETRY_DISABLED: '1',
        ...options.env,
      },
    },
  )
}
