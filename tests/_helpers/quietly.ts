/**
 * Runs `fn` with `console.error` silenced: for tests that provoke the one log line a function
 * writes per outage or misconfiguration (asserted where it matters, noise elsewhere).
 */
export async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const original = console.error
  console.error = () => {}
  try {
    return await fn()
  } finally {
    console.error = original
  }
}
