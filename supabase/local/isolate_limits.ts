/**
 * The limits each function's isolate runs under, the ones the Supabase edge runtime gives a user
 * worker (`memoryLimitMb: 256`, `cpuTimeSoftLimitMs: 1000`, `cpuTimeHardLimitMs: 2000`), and the
 * one-line description of the isolation the stack publishes (`stack.json`, start and test logs).
 *
 * @module
 */

/** A function isolate's limits. */
export interface IsolateLimits {
  /** V8 heap plus ArrayBuffer memory, in MiB. */
  memoryMb: number
  /** CPU time of one request after which the worker takes no new requests, in ms. */
  cpuSoftMs: number
  /** CPU time of one request after which the worker is ended, in ms. */
  cpuHardMs: number
}

/** The edge runtime's limits for a user worker. */
export const edgeRuntimeLimits: Readonly<IsolateLimits> = Object.freeze({
  memoryMb: 256,
  cpuSoftMs: 1_000,
  cpuHardMs: 2_000,
})

/**
 * How the functions are isolated, for logs and `stack.json`.
 *
 * @param limits the isolates' limits
 * @returns e.g. `one process per function, 256 MB, 2 s CPU per request`
 */
export function describeIsolation(limits: IsolateLimits = edgeRuntimeLimits): string {
  return `one process per function, ${limits.memoryMb} MB, ${
    limits.cpuHardMs / 1000
  } s CPU per request`
}
