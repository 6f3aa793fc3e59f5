/**
 * The stack's tunables from options and the environment: ports (`EDGE_AUTH_GATEWAY_PORT`,
 * `EDGE_AUTH_PG_PORT`, `EDGE_AUTH_AUTH_PORT`, `EDGE_AUTH_DEMO_PORT`) and the access-token lifetime
 * (`EDGE_AUTH_JWT_EXP`), and whether the legacy JWT API keys are enabled (`EDGE_AUTH_LEGACY_KEYS`).
 * An explicit option wins over the environment, which wins over the default.
 *
 * @module
 */
import { freePort } from './ports.ts'

/** The ports the stack binds on 127.0.0.1 (the functions host picks its own). */
export interface StackPorts {
  gateway: number
  postgres: number
  auth: number
  /** The browser demo page, a different origin than the gateway. */
  demo: number
}

/** Port options; 0 asks for a free port. */
export interface PortOptions {
  gatewayPort?: number
  pgPort?: number
  authPort?: number
  /**
   * Default `EDGE_AUTH_DEMO_PORT` or 54323, except that a stack whose gateway port is 0 (an
   * ephemeral test stack) also gets a free demo port, so it never collides with `deno task start`.
   */
  demoPort?: number
}

/**
 * Resolves the ports.
 *
 * @param options explicit ports
 * @returns the ports, 0 replaced by a free one
 * @throws RangeError for an invalid port
 */
export function resolvePorts(options: PortOptions): StackPorts {
  return {
    gateway: resolvePort(options.gatewayPort, 'EDGE_AUTH_GATEWAY_PORT', 54321),
    postgres: resolvePort(options.pgPort, 'EDGE_AUTH_PG_PORT', 54322),
    auth: resolvePort(options.authPort, 'EDGE_AUTH_AUTH_PORT', 54329),
    demo: resolvePort(
      options.demoPort ?? (options.gatewayPort === 0 ? 0 : undefined),
      'EDGE_AUTH_DEMO_PORT',
      54323,
    ),
  }
}

/**
 * The access-token lifetime in seconds (default 3600, like Supabase).
 *
 * @param option an explicit value
 * @returns the lifetime
 * @throws RangeError for a value that is not a positive integer
 */
export function resolveJwtExp(option?: number): number {
  const value = option ?? integerFromEnv('EDGE_AUTH_JWT_EXP', 3600)
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`Invalid access-token lifetime ${value}: expected a positive integer`)
  }
  return value
}

/**
 * Whether the legacy anon and service_role JWTs work as API keys (default on). Off, the stack is
 * like a project created without them: the gateway refuses them in `apikey` and the functions do
 * not get `SUPABASE_ANON_KEY` / `SUPABASE_SERVICE_ROLE_KEY`.
 *
 * @param option an explicit value
 * @returns true when the legacy keys are enabled
 * @throws RangeError for an `EDGE_AUTH_LEGACY_KEYS` other than `on` or `off`
 */
export function resolveLegacyKeys(option?: boolean): boolean {
  if (option !== undefined) return option
  const raw = Deno.env.get('EDGE_AUTH_LEGACY_KEYS')
  if (raw === undefined || raw === '' || raw === 'on') return true
  if (raw === 'off') return false
  throw new RangeError(`Invalid EDGE_AUTH_LEGACY_KEYS: expected "on" or "off", got "${raw}"`)
}

function resolvePort(option: number | undefined, envName: string, fallback: number): number {
  const port = option ?? integerFromEnv(envName, fallback)
  if (port === 0) return freePort()
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Invalid port ${port} (${envName})`)
  }
  return port
}

function integerFromEnv(envName: string, fallback: number): number {
  const raw = Deno.env.get(envName)
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`Invalid ${envName}: expected a non-negative integer, got "${raw}"`)
  }
  return value
}
