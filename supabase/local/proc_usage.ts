/**
 * The CPU time of a process's main thread (where Deno runs JavaScript), read from Linux `/proc`:
 * what the functions host holds each function's worker to.
 *
 * @module
 */

/**
 * CPU time of a process's main thread, in milliseconds: the first field of
 * `/proc/<pid>/task/<pid>/schedstat` (nanoseconds on a CPU), or when the kernel has no scheduler
 * statistics, `utime + stime` of its `stat` (clock ticks, 100 a second on Linux).
 *
 * @param pid the process id
 * @returns the milliseconds, or null when the process is gone
 */
export function mainThreadCpuMs(pid: number): number | null {
  const task = `/proc/${pid}/task/${pid}`
  try {
    const nanoseconds = Number(Deno.readTextFileSync(`${task}/schedstat`).split(' ')[0])
    if (Number.isFinite(nanoseconds)) return nanoseconds / 1e6
  } catch {
    // No schedstat (or the process is gone): try stat.
  }
  try {
    const stat = Deno.readTextFileSync(`${task}/stat`)
    // Fields after the parenthesised command name, which may itself hold spaces: state is the
    // first, utime the 12th, stime the 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return null
  }
}
