import type { Hono } from 'hono'
import { createFunctionApp, methodNotAllowed } from '../_shared/app_factory.ts'
import type { Auth } from '../_shared/auth.ts'
import type { Config } from '../_shared/config.ts'
import { database, withRecovery } from '../_shared/database.ts'
import { jsonResponse } from '../_shared/responses.ts'

/** Longest a probe waits for PostgreSQL: a readiness check must answer quickly. */
const DATABASE_PROBE_MS = 2_000

/** What health needs: the instance's key store and a way to reach PostgreSQL. */
export interface HealthDeps {
  /** The instance's authentication services (only `keysReady` is used). */
  auth: Pick<Auth, 'keysReady'>
  /** Resolves when PostgreSQL answers a trivial query; rejects otherwise. */
  pingDatabase: () => Promise<void>
}

/** `GET /health`: 200 when keys and database answer, else 503 naming what is down. */
export function createHealthApp(config: Config, deps: HealthDeps): Hono {
  const app = createFunctionApp('health', { corsOrigins: config.corsOrigins, methods: ['GET'] })
  app.get('/', async () => {
    const [keys, db] = await Promise.all([
      deps.auth.keysReady().catch(() => false),
      withTimeout(deps.pingDatabase(), DATABASE_PROBE_MS).then(() => true, () => false),
    ])
    if (keys && db) return jsonResponse(200, { status: 'ok' })
    // Name the dependency, nothing more: no hosts, ports or error texts for a public probe.
    return jsonResponse(503, {
      status: 'degraded',
      jwks: keys ? 'ok' : 'down',
      database: db ? 'ok' : 'down',
    }, {
      'Retry-After': '5',
    })
  })
  app.all('/', methodNotAllowed(['GET']))
  return app
}

/** The production database probe: `select 1` on the instance's client. */
export function databasePing(config: Config): () => Promise<void> {
  return async () => {
    const sql = database(config)
    await withRecovery(sql, () => sql`select 1`)
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
