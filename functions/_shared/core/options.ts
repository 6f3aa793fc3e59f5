/**
 * Validation of the components' options objects, when a component is built: a bad option is a
 * `TypeError` naming the component and the option (never its value, which may be a secret), so a
 * mistake fails at start-up rather than on the first request.
 *
 * @module
 */

/** A whole-number setting's default and the least and most it may be. */
export interface IntegerBounds {
  readonly fallback: number
  readonly min: number
  readonly max: number
}

/**
 * The default and bounds of every whole-number setting, one table for both ways of giving it: a
 * component's option (`createVerifier({ cacheSize })`) and its `EDGE_AUTH_` variable
 * (`EDGE_AUTH_TOKEN_CACHE_SIZE`, read by `loadConfig`).
 */
export const INTEGER_SETTINGS = {
  /**
   * The time budget of a database query or transaction, in ms: a request makes at most three in
   * a row (a revocation poll, a session lookup, its own transaction), so it answers within 5 s
   * whatever the database does. Lock waits end on the server after four fifths of it.
   */
  dbTimeoutMs: { fallback: 1_500, min: 100, max: 10_000 },
  clockToleranceSeconds: { fallback: 5, min: 0, max: 300 },
  maxTokenAgeSeconds: { fallback: 604_800, min: 1, max: 604_800 },
  tokenCacheSize: { fallback: 10_000, min: 0, max: 1_000_000 },
  tokenCacheBytes: { fallback: 32 * 1024 * 1024, min: 0, max: 1024 * 1024 * 1024 },
  sessionCacheTtlMs: { fallback: 1_000, min: 0, max: 60_000 },
  sessionCacheSize: { fallback: 10_000, min: 1, max: 1_000_000 },
  jwksTimeoutMs: { fallback: 3_000, min: 100, max: 30_000 },
  jwksCooldownMs: { fallback: 30_000, min: 0, max: 3_600_000 },
  jwksCacheMaxAgeMs: { fallback: 600_000, min: 1_000, max: 86_400_000 },
  jwksStaleMaxMs: { fallback: 1_800_000, min: 0, max: 86_400_000 },
  upstreamTimeoutMs: { fallback: 5_000, min: 100, max: 9_000 },
} as const satisfies Readonly<Record<string, IntegerBounds>>

/**
 * A whole number within bounds, or the default when absent.
 *
 * @param owner the component, for the message (`createVerifier`)
 * @param name the option
 * @param value what was given
 * @param bounds its default and bounds ({@linkcode INTEGER_SETTINGS})
 * @returns the number
 * @throws {TypeError} naming the option
 */
export function integerOption(
  owner: string,
  name: string,
  value: number | undefined,
  bounds: IntegerBounds,
): number {
  const { fallback, min, max } = bounds
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`${owner}: ${name} must be a whole number between ${min} and ${max}`)
  }
  return value
}

/**
 * Throws when a required option is missing or an option has the wrong type.
 *
 * @param owner the component
 * @param name the option
 * @param ok whether the option is acceptable
 * @param what what it must be, for the message
 * @throws {TypeError} naming the option
 */
export function checkOption(owner: string, name: string, ok: boolean, what: string): void {
  if (!ok) throw new TypeError(`${owner}: ${name} must be ${what}`)
}
