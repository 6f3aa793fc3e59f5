/**
 * Waiting for a state instead of sleeping: {@linkcode eventually} polls a check until it reports
 * the state it waits for, or fails at a deadline with a message naming what never happened.
 *
 * @module
 */

/** Options of {@linkcode eventually}. */
export interface EventuallyOptions {
  /** The deadline, in milliseconds after `since`. */
  timeoutMs: number
  /** The pause between two checks (default 50 ms). */
  intervalMs?: number
  /** What is awaited, for the failure message: e.g. `GET /me refuses the revoked session`. */
  what: string
  /**
   * The `performance.now()` the wait counts from (default: the call): the moment of the cause
   * (a logout's answer, a stop), so that the deadline and `elapsedMs` measure from it.
   */
  since?: number
  /** The last observation, added to the failure message (e.g. the last status seen). */
  describe?: () => string
}

/** What {@linkcode eventually} returns: the check's value and when it came. */
export interface Eventually<T> {
  /** What the successful check returned. */
  value: T
  /** Milliseconds from `since` to the end of the successful check. */
  elapsedMs: number
  /** How many checks ran, the successful one included. */
  attempts: number
}

/**
 * Runs `check` until it returns something other than `undefined`, `null` or `false`, pausing
 * `intervalMs` between checks. An exception thrown by `check` (an assertion on an answer seen
 * meanwhile) ends the wait at once.
 *
 * @param check returns the awaited value, or `undefined`/`null`/`false` for "not yet"
 * @param options deadline, interval, description, origin of the clock
 * @returns the value, the time it took and the number of checks
 * @throws Error naming `what` when the deadline passes first
 */
export async function eventually<T>(
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: EventuallyOptions,
): Promise<Eventually<NonNullable<Exclude<T, false>>>> {
  const { timeoutMs, intervalMs = 50, what, describe } = options
  const since = options.since ?? performance.now()
  const deadline = since + timeoutMs
  for (let attempts = 1;; attempts++) {
    const value = await check()
    const now = performance.now()
    if (value !== undefined && value !== null && value !== false) {
      return { value: value as NonNullable<Exclude<T, false>>, elapsedMs: now - since, attempts }
    }
    if (now >= deadline) {
      const last = describe ? `; last seen: ${describe()}` : ''
      const checks = attempts === 1 ? '1 check' : `${attempts} checks`
      throw new Error(
        `${what}: not within ${timeoutMs} ms (${checks}, ${Math.round(now - since)} ms${last})`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, deadline - now)))
  }
}
