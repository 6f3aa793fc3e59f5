import type { Hono } from 'hono'
import { type AppDeps, authFor } from '../_shared/auth/authenticate.ts'
import type { Config } from '../_shared/core/config.ts'
import { databaseFor, type Sql, withRecovery } from '../_shared/db/database.ts'
import { createFunctionApp, methodNotAllowed } from '../_shared/hono/adapter.ts'
import { jsonResponse } from '../_shared/http/responses.ts'

/** Longest a probe waits for PostgreSQL: a readiness check must answer quickly. */
const DATABASE_PROBE_MS = 2_000

/**
 * `GET /health`: 200 when keys and database answer, else 503 naming what is down.
 *
 * @param config the loaded configuration
 * @param deps injected clock, fetch or database
 * @returns the Hono app, routed under `/health`
 */
export function createHealthApp(config: Config, deps: AppDeps = {}): Hono {
  const auth = authFor(config, deps)
  const sql = databaseFor(config, deps)
  const app = createFunctionApp('health', { corsOrigins: config.corsOrigins, methods: ['GET'] })
  app.get('/', async () => {
    const [keys, db] = await Promise.all([
      auth.keysReady().catch(() => false),
      withTimeout(ping(sql), DATABASE_PROBE_MS).then(() => true, () => false),
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

/** The database probe: `select 1` on the instance's client. */
async function ping(database: () => Sql): Promise<void> {
  const sql = database()
  await withRecovery(() => sql`select 1`)
}

// A real timer, not the injected clock: it bounds real I/O.
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
