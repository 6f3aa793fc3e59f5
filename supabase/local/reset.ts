/**
 * `deno task reset`: deletes the local stack's state (database, keys, logs) so the next start
 * begins afresh. Refuses while a stack runs from that directory. The auth server binary in
 * `bin/` is kept, since reinstalling it takes minutes; `--all` removes it too.
 *
 * @module
 */
import { join } from 'node:path'
import { defaultStateDir, type StatePaths, statePaths } from './paths.ts'
import { processAlive } from './processes.ts'
import { lockOwner } from './state.ts'

/**
 * Why the state directory is in use, or null when it may be deleted.
 *
 * @param paths the state paths
 * @returns a message or null
 */
export function stateInUse(paths: StatePaths): string | null {
  const owner = lockOwner(paths)
  if (owner !== null) return `a local stack is running from ${paths.root} (pid ${owner})`
  const pidFiles = [
    ['PostgreSQL', join(paths.pgData, 'postmaster.pid')],
    ['the auth server', join(paths.run, 'auth.pid')],
  ]
  for (const [name, file] of pidFiles) {
    const pid = readPid(file!)
    if (pid !== null && processAlive(pid)) {
      return `${name} from ${paths.root} still runs (pid ${pid}); start and stop the stack once to clean up`
    }
  }
  return null
}

/**
 * Deletes the state we created (and only that: an `EDGE_AUTH_STATE_DIR` pointing somewhere
 * unexpected must not wipe unrelated files).
 *
 * @param paths the state paths
 * @param all also delete the auth server binary
 * @returns the names deleted
 */
export async function deleteState(paths: StatePaths, all: boolean): Promise<string[]> {
  const entries = [
    paths.pg,
    paths.keys,
    paths.logs,
    paths.authWork,
    paths.run,
    paths.stackJson,
    paths.lock,
  ]
  if (all) entries.push(paths.bin)
  const deleted: string[] = []
  for (const entry of entries) {
    try {
      await Deno.remove(entry, { recursive: true })
      deleted.push(entry)
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err
    }
  }
  // Only succeeds when nothing else is left in it.
  await Deno.remove(paths.root).catch(() => {})
  return deleted
}

function readPid(file: string): number | null {
  try {
    const pid = Number(Deno.readTextFileSync(file).split('\n')[0])
    return Number.isInteger(pid) && pid > 0 ? pid : null
  } catch {
    return null
  }
}

if (import.meta.main) {
  const paths = statePaths(defaultStateDir())
  const busy = stateInUse(paths)
  if (busy) {
    console.error(`edge-auth: refusing to reset: ${busy}; stop it first (Ctrl-C)`)
    Deno.exit(1)
  }
  const all = Deno.args.includes('--all')
  const deleted = await deleteState(paths, all)
  if (deleted.length === 0) {
    console.log(`edge-auth: nothing to reset in ${paths.root}`)
  } else {
    const kept = all ? '' : ' (kept bin/ with the auth server binary; --all removes it too)'
    console.log(`edge-auth: removed the local stack state in ${paths.root}${kept}`)
  }
}
