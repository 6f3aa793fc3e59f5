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

/**
 * Runs `fn` collecting what it writes with `console.error`, for tests that assert the one log
 * line a function writes (and that it names no secret).
 *
 * @param fn what to run
 * @returns its result and the lines written
 */
export async function capturingErrors<T>(fn: () => T | Promise<T>): Promise<[T, string[]]> {
  const lines: string[] = []
  const original = console.error
  console.error = (...args: unknown[]) => lines.push(args.join(' '))
  try {
    return [await fn(), lines]
  } finally {
    console.error = original
  }
}
