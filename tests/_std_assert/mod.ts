/**
 * Offline stand-in for `jsr:@std/assert`, used only where jsr.io cannot be reached (our CI
 * machines). `.ci/run` links it in with Deno's `links` setting; users with network access get the
 * real package from the import map. It implements exactly the assertions our tests use, on top of
 * `node:assert/strict`, with the same names and argument order as `@std/assert`.
 *
 * @module
 */
import nodeAssert from 'node:assert/strict'

/** Asserts that `expr` is truthy. */
export function assert(expr: unknown, msg?: string): asserts expr {
  nodeAssert.ok(expr, msg)
}

/** Asserts that `expr` is falsy. */
export function assertFalse(expr: unknown, msg?: string): void {
  nodeAssert.ok(!expr, msg)
}

/** Asserts deep equality of `actual` and `expected`. */
export function assertEquals<T>(
  actual: unknown,
  expected: T,
  msg?: string,
): asserts actual is T {
  nodeAssert.deepStrictEqual(actual, expected, msg)
}

/** Asserts deep inequality of `actual` and `expected`. */
export function assertNotEquals(
  actual: unknown,
  expected: unknown,
  msg?: string,
): void {
  nodeAssert.notDeepStrictEqual(actual, expected, msg)
}

/** Asserts that `actual` is neither `null` nor `undefined`. */
export function assertExists<T>(
  actual: T,
  msg?: string,
): asserts actual is NonNullable<T> {
  nodeAssert.ok(
    actual !== null && actual !== undefined,
    msg ?? 'expected a value',
  )
}

/** Asserts that `actual` matches `expected`. */
export function assertMatch(
  actual: string,
  expected: RegExp,
  msg?: string,
): void {
  nodeAssert.match(actual, expected, msg)
}

/** Asserts that `actual` does not match `expected`. */
export function assertNotMatch(
  actual: string,
  expected: RegExp,
  msg?: string,
): void {
  nodeAssert.doesNotMatch(actual, expected, msg)
}

/** Asserts that `actual` contains `expected`. */
export function assertStringIncludes(
  actual: string,
  expected: string,
  msg?: string,
): void {
  nodeAssert.ok(
    actual.includes(expected),
    msg ??
      `expected ${JSON.stringify(actual)} to include ${JSON.stringify(expected)}`,
  )
}

/** Asserts that `actual >= expected`. */
export function assertGreaterOrEqual<T>(
  actual: T,
  expected: T,
  msg?: string,
): void {
  nodeAssert.ok(actual >= expected, msg ?? `expected ${actual} >= ${expected}`)
}

/** Asserts that `actual <= expected`. */
export function assertLessOrEqual<T>(
  actual: T,
  expected: T,
  msg?: string,
): void {
  nodeAssert.ok(actual <= expected, msg ?? `expected ${actual} <= ${expected}`)
}

/** Asserts that `fn` throws, optionally an instance of `ErrorClass`; returns the error. */
export function assertThrows(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  ErrorClass?: abstract new (...args: any[]) => Error,
  msgIncludes?: string,
): Error {
  try {
    fn()
  } catch (error) {
    checkError(error, ErrorClass, msgIncludes)
    return error as Error
  }
  throw new nodeAssert.AssertionError({
    message: 'expected function to throw',
  })
}

/** Asserts that `fn` rejects, optionally with an instance of `ErrorClass`; returns the error. */
export async function assertRejects(
  fn: () => PromiseLike<unknown>,
  // deno-lint-ignore no-explicit-any
  ErrorClass?: abstract new (...args: any[]) => Error,
  msgIncludes?: string,
): Promise<Error> {
  try {
    await fn()
  } catch (error) {
    checkError(error, ErrorClass, msgIncludes)
    return error as Error
  }
  throw new nodeAssert.AssertionError({
    message: 'expected promise to reject',
  })
}

function checkError(
  error: unknown,
  // deno-lint-ignore no-explicit-any
  ErrorClass?: abstract new (...args: any[]) => Error,
  msgIncludes?: string,
): void {
  if (ErrorClass) {
    nodeAssert.ok(error instanceof ErrorClass, `expected ${ErrorClass.name}`)
  }
  if (msgIncludes) {
    nodeAssert.ok(String((error as Error)?.message).includes(msgIncludes))
  }
}
