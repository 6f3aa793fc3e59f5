/**
 * A throwaway stack for a test or fuzz run: a temporary state directory, free ports, PostgreSQL
 * without fsync, the signing key published, no demo user, the functions' output to a file. Used by
 * `tests/run.ts`, `tests/soak/fuzz.ts` and the tests that need a stack of their own; a running
 * `deno task start` is untouched.
 *
 * @module
 */
import { join } from 'node:path'
import { repoRoot } from './paths.ts'
import type { PoolerMode } from './pooler.ts'
import { type LocalStack, startStack } from './stack.ts'

/** Options of {@linkcode startEphemeralStack}. */
export interface EphemeralStackOptions {
  /**
   * Fail without an auth server binary (default: under CI only). Elsewhere a developer without
   * the binary still runs what can run on a degraded stack.
   */
  requireAuth?: boolean
  /** Install the auth server when missing (default true; a test's own stack reuses the binary). */
  installAuth?: boolean
  /** More variables for the functions (e.g. shorter JWKS timings). */
  functionsEnv?: Record<string, string>
  /** More `GOTRUE_*` settings for the auth server (e.g. a low rate limit). */
  authEnv?: Record<string, string>
  /** Access-token lifetime in seconds (default 3600). */
  jwtExp?: number
  /** The functions' database path (default: the lane's). */
  pooler?: PoolerMode
  /** Progress messages (default none). */
  log?: (message: string) => void
}

/** A running throwaway stack. */
export interface EphemeralStack {
  stack: LocalStack
  /** Stops the stack and deletes its directory. Idempotent. */
  dispose(): Promise<void>
}

/** Whether this runs under CI (`CI` set to anything but empty, `0` or `false`). */
export function isCi(): boolean {
  const value = Deno.env.get('CI')
  return value !== undefined && value !== '' && value !== '0' && value !== 'false'
}

/**
 * Starts a throwaway stack. The lane's settings (`EDGE_AUTH_FUNCTIONS_DENO`, `EDGE_AUTH_POOLER`,
 * `EDGE_AUTH_LEGACY_KEYS`) apply as they do to `startStack`.
 *
 * @param options whether the auth server is required, and the log
 * @returns the stack; call `dispose()` in a `finally`
 * @throws Error when the stack cannot start (its directory is deleted first)
 */
export async function startEphemeralStack(
  options: EphemeralStackOptions = {},
): Promise<EphemeralStack> {
  const stateDir = await Deno.makeTempDir({ prefix: 'edge-auth-test-' })
  const remove = () => Deno.remove(stateDir, { recursive: true }).catch(() => {})
  let stack: LocalStack
  try {
    stack = await startStack({
      stateDir,
      gatewayPort: 0,
      pgPort: 0,
      authPort: 0,
      demoPort: 0,
      requireAuth: options.requireAuth ?? isCi(),
      installAuth: options.installAuth,
      // Reuse the binary of `deno task start` (or AUTH_SERVER_BIN) instead of reinstalling.
      authBinDir: join(repoRoot, '.local', 'bin'),
      demoUser: false,
      exposeSigningKey: true,
      fastPostgres: true,
      functionsOutput: 'file',
      functionsEnv: options.functionsEnv,
      authEnv: options.authEnv,
      jwtExp: options.jwtExp,
      pooler: options.pooler,
      log: options.log ?? (() => {}),
    })
  } catch (err) {
    await remove()
    throw err
  }
  let disposed: Promise<void> | null = null
  return {
    stack,
    dispose() {
      disposed ??= stack.stop().then(remove)
      return disposed
    },
  }
}
