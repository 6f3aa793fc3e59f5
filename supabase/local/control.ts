/**
 * The actions of the test-control API (`POST /_stack/<action>` on the gateway), used by fault
 * and key-rotation tests: stop and start PostgreSQL, the pooler and the auth server, rotate signing keys,
 * restart the functions host.
 *
 * @module
 */
import type { AuthServer } from './auth_server.ts'
import type { FunctionsHost } from './functions_process.ts'
import { ControlInputError, type GatewayControl } from './gateway.ts'
import { applyKeyPhase, type KeyMaterial, type KeyPhase } from './keys.ts'
import type { Pooler } from './pooler.ts'
import type { Postgres } from './postgres.ts'

/** What the control actions act on. */
export interface ControlTargets {
  token: string
  postgres: Postgres
  auth: AuthServer | null
  functions: FunctionsHost
  /** PgBouncer, when the stack runs one. */
  pooler: Pooler | null
  keysDir: string
  /** Called after the key set changed, before the functions host restarts. */
  keysChanged: (material: KeyMaterial) => Promise<void>
  /** Called after every action, to republish pids in stack.json. */
  changed: () => Promise<void>
}

const phases: KeyPhase[] = ['standby', 'rotate', 'revoke']

/**
 * Builds the gateway's control hook. Actions run one at a time.
 *
 * @param targets the stack's parts
 * @returns the hook
 */
export function createControl(targets: ControlTargets): GatewayControl {
  let queue: Promise<unknown> = Promise.resolve()
  return {
    token: targets.token,
    run(action, body) {
      const result = queue.then(() => runAction(targets, action, body))
      queue = result.catch(() => {})
      return result
    },
  }
}

async function runAction(targets: ControlTargets, action: string, body: unknown) {
  const result = await dispatch(targets, action, body)
  if (result !== undefined) await targets.changed()
  return result
}

async function dispatch(
  targets: ControlTargets,
  action: string,
  body: unknown,
): Promise<unknown> {
  const { postgres, functions } = targets
  switch (action) {
    case 'postgres/stop':
      await postgres.stop()
      return { postgres: 'stopped' }
    case 'postgres/start':
      await postgres.start()
      return { postgres: 'running', pid: postgres.pid() }
    case 'pooler/stop':
      await requirePooler(targets).stop()
      return { pooler: 'stopped' }
    case 'pooler/start': {
      const pooler = requirePooler(targets)
      await pooler.start()
      return { pooler: 'running', pid: pooler.pid }
    }
    case 'auth/stop':
      await requireAuth(targets).stop()
      return { auth: 'stopped' }
    case 'auth/start': {
      const auth = requireAuth(targets)
      await auth.start()
      return { auth: 'running', pid: auth.pid }
    }
    case 'auth/keys': {
      const auth = requireAuth(targets)
      const phase = (body as { phase?: unknown } | null)?.phase
      if (!phases.includes(phase as KeyPhase)) {
        throw new ControlInputError('The body must be {"phase":"standby"|"rotate"|"revoke"}')
      }
      const { material, result } = await applyKeyPhase(targets.keysDir, phase as KeyPhase)
      auth.setKeys(material)
      await auth.restart()
      await targets.keysChanged(material)
      // Functions hold the API keys in their environment: restart them with the new ones.
      if (result.apiKeysReissued) await functions.restart()
      return result
    }
    case 'functions/restart':
      await functions.restart()
      return { functions: 'running', pid: functions.pid }
    default:
      return undefined
  }
}

function requirePooler(targets: ControlTargets): Pooler {
  if (!targets.pooler) throw new ControlInputError('This stack runs without a pooler')
  return targets.pooler
}

function requireAuth(targets: ControlTargets): AuthServer {
  if (!targets.auth) throw new ControlInputError('This stack runs without an auth server')
  return targets.auth
}
