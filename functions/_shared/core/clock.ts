/**
 * The one clock every time-dependent rule reads: token expiry, key-set cache ages and cooldowns,
 * session-cache TTLs, the logout path for expired tokens, the login failure floor. Injected, so a
 * test moves time instead of waiting for it.
 *
 * @module
 */

/** Time as the functions see it. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
  /** Resolves after `ms` milliseconds (at once for `ms <= 0`). */
  sleep(ms: number): Promise<void>
}

/** The wall clock and real timers. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  sleep: (ms: number) =>
    ms > 0 ? new Promise<void>((resolve) => setTimeout(resolve, ms)) : Promise.resolve(),
})
