/**
 * The database connections each function's worker process holds, counted from the worker's side:
 * its established TCP sockets to the port of the functions' `SUPABASE_DB_URL`. Each function runs
 * in an isolate of its own with a pool of its own, so a pool bound holds per function; counting
 * from the worker's side works the same whether the functions reach PostgreSQL directly or through
 * PgBouncer.
 *
 * @module
 */
import type { TestStack } from './stack.ts'

/**
 * Connections to the functions' database, by function, for every live worker of the stack's
 * functions host.
 *
 * @param stack the stack
 * @returns the count per function name (a function with several live workers: their sum)
 */
export async function databaseConnectionsByFunction(
  stack: TestStack,
): Promise<Record<string, number>> {
  const response = await fetch(`http://127.0.0.1:${stack.ports.functions}/_host/workers`)
  const { workers } = await response.json() as { workers: { name: string; pid: number }[] }
  const port = Number(new URL(stack.functionsDbUrl).port)
  const established = establishedTo(port)
  const counts: Record<string, number> = {}
  for (const { name, pid } of workers) {
    const held = socketInodes(pid).filter((inode) => established.has(inode)).length
    counts[name] = (counts[name] ?? 0) + held
  }
  return counts
}

/** Inodes of the established TCP sockets whose remote end is `port` (`/proc/net/tcp{,6}`). */
function establishedTo(port: number): Set<string> {
  const inodes = new Set<string>()
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = ''
    try {
      text = Deno.readTextFileSync(table)
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/)
      const remote = fields[2]
      // State 01 is ESTABLISHED; the inode is the tenth field.
      if (!remote || fields[3] !== '01') continue
      if (parseInt(remote.slice(remote.lastIndexOf(':') + 1), 16) === port) inodes.add(fields[9]!)
    }
  }
  return inodes
}

/** Inodes of the sockets a process has open. */
function socketInodes(pid: number): string[] {
  const inodes: string[] = []
  try {
    for (const entry of Deno.readDirSync(`/proc/${pid}/fd`)) {
      try {
        const target = Deno.readLinkSync(`/proc/${pid}/fd/${entry.name}`)
        const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1]
        if (inode) inodes.push(inode)
      } catch {
        // Closed meanwhile.
      }
    }
  } catch {
    // The process is gone.
  }
  return inodes
}
