import type { Hono } from 'hono'
import { type AppDeps, authFor, type Config } from '@edge-auth/edge-auth'
import { createFunctionApp, methodNotAllowed } from '@edge-auth/edge-auth/hono'
import { jsonResponse } from '@edge-auth/edge-auth/http'
import { probeSessionStore } from '@edge-auth/edge-auth/postgres'

/**
 * `GET /health`: 200 when keys and database answer, else 503 naming what is down. The database
 * is probed the way a session check reads it (the session tables and the revocation log, within
 * the client's time budget): a store that is up but stuck behind a lock is `down` too.
 *
 * @param config the loaded configuration
 * @param deps injected clock, fetch or database
 * @returns the Hono app, routed under `/health`
 */
export function createHealthApp(config: Config, deps: AppDeps = {}): Hono {
  const auth = authFor(config, deps)
  // The session check's pool: one instance, one pool.
  const sql = () => auth.database()
  const app = createFunctionApp('health', { corsOrigins: config.corsOrigins, methods: ['GET'] })
  app.get('/', async () => {
    const [keys, db] = await Promise.all([
      auth.keysReady().catch(() => false),
      probeSessionStore(sql).then(() => true, () => false),
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
