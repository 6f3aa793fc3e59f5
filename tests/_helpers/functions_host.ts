/**
 * A functions host of the test's own, with the environment the stack gives its own functions: a
 * second instance of the project, or a host serving test-only functions, that the stack's shared
 * host never sees.
 *
 * @module
 */
import { functionsEnvironment, FunctionsHost } from '../../supabase/local/functions_process.ts'
import { resolveFunctionsRuntime } from '../../supabase/local/functions_runtime.ts'
import { repoRoot } from '../../supabase/local/paths.ts'
import { testStack } from './stack.ts'

/** What differs between the hosts a test makes. */
export interface StackHostOptions {
  /** The folder of functions it serves (default the repository's `functions/`). */
  functionsDir?: string
  /** The JWKS its functions start with (default none: they fetch it when they need it). */
  jwks?: { keys: unknown[] }
  /** Where its workers' output and its own messages go (default nowhere). */
  log?: (line: string) => void
}

/**
 * A functions host with the stack's functions environment, not started yet.
 *
 * @param options its folder, JWKS and log
 * @returns the host (call `start()`, then `stop()`)
 */
export async function stackFunctionsHost(options: StackHostOptions = {}): Promise<FunctionsHost> {
  const stack = testStack()
  const log = options.log ?? (() => {})
  return new FunctionsHost({
    repoRoot,
    runtime: await resolveFunctionsRuntime(),
    env: functionsEnvironment({
      gatewayPort: stack.ports.gateway,
      dbUrl: stack.functionsDbUrl,
      keys: stack,
      jwks: options.jwks ?? { keys: [] },
    }),
    functionsDir: options.functionsDir,
    output: { line: log },
    log,
  })
}
