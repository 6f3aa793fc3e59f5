/**
 * Run as a process of its own (the crash it provokes ends a process): a transaction whose
 * connection the server ends while a statement is in flight, then a query on the same client.
 * `deno run -A deferred_write_crash.ts <mode> <postgres URL>`, with `mode`:
 *
 * - `raw`: postgres.js as it is, which writes its rollback to the closed connection from a timer
 *   (the process dies of that, unless the runtime has fixed it);
 * - `guarded`: the same with edge-auth's guard installed (the process survives);
 * - `client`: edge-auth's client (nothing is written to the closed connection).
 *
 * Prints one JSON line: the transaction's error code and whether the next query answered.
 *
 * @module
 */
import postgres from 'postgres'
import { createDatabaseClient } from '../../functions/_shared/db/database.ts'
import { isDatabaseUnavailable } from '../../functions/_shared/db/database_errors.ts'
import { guardDeferredWrites } from '../../functions/_shared/db/write_crash_guard.ts'

const [mode, url] = Deno.args
if (url === undefined || !['raw', 'guarded', 'client'].includes(mode ?? '')) {
  throw new Error('usage: deferred_write_crash.ts raw|guarded|client <postgres URL>')
}

/** Ends the backend `pid` from another connection, the way an administrator or a pooler does. */
async function terminate(pid: number): Promise<void> {
  const admin = postgres(url!, { max: 1, onnotice: () => {} })
  try {
    await admin`select pg_terminate_backend(${pid})`
  } finally {
    await admin.end()
  }
}

/** The transaction, its backend ended during `pg_sleep`; then a query on the same client. */
async function provoke(
  begin: (work: (tx: (s: TemplateStringsArray) => Promise<unknown[]>) => Promise<void>) => Promise<
    unknown
  >,
  next: () => Promise<unknown>,
): Promise<{ code: unknown; unavailable: boolean; next: string }> {
  let pid: number | undefined
  const transaction = begin(async (tx) => {
    const [row] = await tx`select pg_backend_pid() as pid` as { pid: number }[]
    pid = row!.pid
    await tx`select pg_sleep(5)`
  }).then(() => null, (error: unknown) => error)
  while (pid === undefined) await new Promise((resolve) => setTimeout(resolve, 20))
  await terminate(pid)
  const error = await transaction
  // The crash comes from a timer after the rejection: give it the turns it takes.
  await new Promise((resolve) => setTimeout(resolve, 300))
  // A connection the crash left behind may never answer again: 3 s is plenty for an answer.
  const answered = await Promise.race([
    next().then(() => 'answered', (e: unknown) => `failed: ${(e as { code?: string }).code}`),
    new Promise<string>((resolve) => setTimeout(() => resolve('no answer'), 3_000)),
  ])
  return {
    code: (error as { code?: unknown } | null)?.code ?? null,
    unavailable: isDatabaseUnavailable(error),
    next: answered,
  }
}

if (mode === 'client') {
  const sql = createDatabaseClient(url, { max: 1, timeoutMs: 8_000 })
  const result = await provoke((work) => sql.begin((tx) => work(tx)), () => sql`select 1`)
  await sql.end()
  console.log(JSON.stringify(result))
} else {
  if (mode === 'guarded') guardDeferredWrites()
  const sql = postgres(url, { max: 1, prepare: false, onnotice: () => {} })
  const result = await provoke(
    (work) => sql.begin((tx) => work(tx as never)) as Promise<unknown>,
    () => sql`select 1`,
  )
  console.log(JSON.stringify(result))
  // Whatever the crash left open is not waited for.
  Deno.exit(0)
}
