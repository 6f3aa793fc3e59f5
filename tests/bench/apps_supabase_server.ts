/**
 * Case 4, the peer of the cold-start and throughput targets, in a module of its own so a process
 * serving it loads only what the peer needs. `@supabase/server` is a dependency of the benchmark
 * only, imported by its npm specifier, not through the functions' import map.
 *
 * @module
 */
import { withSupabase } from 'npm:@supabase/server@1.8.1/adapters/hono'
import { Hono } from 'hono'
import type { FetchHandler } from './apps_ours.ts'

/**
 * Case 4: `@supabase/server`'s Hono adapter in user mode, per its docs/adapters/hono.md. The key
 * set comes from the environment as the package resolves it: `SUPABASE_JWKS` (inline, what the
 * platform injects) or else the JWKS derived from `SUPABASE_URL`.
 */
export function supabaseServerHandler(): FetchHandler {
  const app = new Hono()
  app.get(
    '/me',
    withSupabase({ auth: 'user' }),
    (c) => c.json({ id: c.var.supabaseContext.userClaims!.id }),
  )
  return app.fetch
}
