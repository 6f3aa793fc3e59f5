/**
 * Where the local stack keeps its files. Every other module asks this one for paths, so the
 * layout of a state directory is written down in one place.
 *
 * @module
 */
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Absolute path of the repository root (two levels above this file). */
export const repoRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** The layout of one state directory. */
export interface StatePaths {
  /** The state directory itself. */
  root: string
  /** Auth server binaries (`go install` target). */
  bin: string
  /** PostgreSQL: owned by the `postgres` OS user when we run as root. */
  pg: string
  /** PostgreSQL data directory (`initdb` target). */
  pgData: string
  /** PgBouncer's configuration, when the stack runs a pooler. */
  pooler: string
  /** Signing keys, API keys and secrets; mode 0700, files 0600. */
  keys: string
  /** Log files of the auth server and the functions host. */
  logs: string
  /** Scratch working directory of the auth server (it auto-reads `./.env`). */
  authWork: string
  /** Pid files of children, used to clean up after a crashed supervisor. */
  run: string
  /** Connection details for tools and tests. */
  stackJson: string
  /** Held by a running supervisor; `reset` refuses while it is live. */
  lock: string
}

/**
 * The default state directory: `EDGE_AUTH_STATE_DIR`, else `<repo>/.local`.
 *
 * @returns an absolute path
 */
export function defaultStateDir(): string {
  const fromEnv = Deno.env.get('EDGE_AUTH_STATE_DIR')
  return fromEnv ? resolve(fromEnv) : join(repoRoot, '.local')
}

/**
 * The paths inside a state directory.
 *
 * @param stateDir the state directory
 * @returns the layout
 */
export function statePaths(stateDir: string): StatePaths {
  const root = resolve(stateDir)
  return {
    root,
    bin: join(root, 'bin'),
    pg: join(root, 'pg'),
    pgData: join(root, 'pg', 'data'),
    pooler: join(root, 'pooler'),
    keys: join(root, 'keys'),
    logs: join(root, 'logs'),
    authWork: join(root, 'auth'),
    run: join(root, 'run'),
    stackJson: join(root, 'stack.json'),
    lock: join(root, 'stack.lock'),
  }
}
