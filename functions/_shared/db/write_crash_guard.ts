/**
 * Keeps one known postgres.js 3.4.9 failure from ending the isolate. postgres.js defers a small
 * write to a `setImmediate`; when the server closes the connection first (a pooler hanging up, an
 * administrator's `pg_terminate_backend`, a restart), a write made after the close (a
 * transaction's own `rollback`, a statement sent to the closed connection) runs on the socket
 * postgres.js has set to null, and throws `TypeError: Cannot read properties of null (reading
 * 'write')` from the timer, where no `await` can catch it: an uncaught error, and the isolate
 * stops with every request it serves. The client here avoids those writes (a connection that
 * closed is destroyed before its transaction's rollback, and never used again), and this guard
 * catches what a race may still let through: the write is lost, so the query it belonged to gets
 * no answer and fails at its deadline, and its connection is closed then.
 *
 * @module
 */

// Per process by nature, so module-level: the guard listens on the isolate itself.
let installed = false

/**
 * Installs the guard once per isolate: an uncaught error that is this crash is kept from ending
 * the isolate and logged; any other error is left alone.
 */
export function guardDeferredWrites(): void {
  if (installed) return
  installed = true
  globalThis.addEventListener('error', (event) => {
    if (!isDeferredWriteCrash(event.error)) return
    event.preventDefault()
    console.error(
      '[edge-auth] a database connection closed under a deferred write; its query fails at its deadline',
    )
  })
}

/**
 * Whether `error` is postgres.js writing to a connection that closed: the message of a null
 * socket, thrown from postgres.js's `nextWrite`.
 *
 * @param error an uncaught error
 * @returns true for that crash only
 */
export function isDeferredWriteCrash(error: unknown): boolean {
  if (!(error instanceof TypeError)) return false
  const stack = error.stack ?? ''
  return /reading 'write'/.test(error.message) && /nextWrite/.test(stack) &&
    /postgres/.test(stack)
}
