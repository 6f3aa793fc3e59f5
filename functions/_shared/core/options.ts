/**
 * Validation of the components' options objects, when a component is built: a bad option is a
 * `TypeError` naming the component and the option (never its value, which may be a secret), so a
 * mistake fails at start-up rather than on the first request.
 *
 * @module
 */

/**
 * A whole number within bounds, or the default when absent.
 *
 * @param owner the component, for the message (`createVerifier`)
 * @param name the option
 * @param value what was given
 * @param fallback the default
 * @param min the least allowed
 * @param max the most allowed
 * @returns the number
 * @throws {TypeError} naming the option
 */
export function integerOption(
  owner: string,
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
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
