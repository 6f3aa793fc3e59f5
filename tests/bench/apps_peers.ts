/**
 * The peers, each configured the way its documentation recommends, serving the same `GET /me`
 * route and body as the benchmark's own servers (`@supabase/server` in
 * `apps_supabase_server.ts`). Their packages are dependencies of the benchmark only.
 *
 * @module
 */
import { createClient } from '@supabase/supabase-js'
import { Hono } from 'hono'
import { jwk } from 'hono/jwk'
import type { FetchHandler } from './apps_ours.ts'

/**
 * Case 5: Hono's `jwk` middleware, with `jwks_uri` (`BENCH_JWKS_URL`) or with the keys inline
 * (`BENCH_JWKS`, the same set, fetched once by the benchmark).
 *
 * @param source which of the two options to use
 */
export function honoJwkHandler(source: 'uri' | 'keys'): FetchHandler {
  const app = new Hono<{ Variables: { jwtPayload: { sub: string } } }>()
  const middleware = source === 'uri'
    ? jwk({ jwks_uri: requiredEnv('BENCH_JWKS_URL'), alg: ['ES256'] })
    : jwk({ keys: JSON.parse(requiredEnv('BENCH_JWKS')).keys, alg: ['ES256'] })
  app.get('/me', middleware, (c) => c.json({ id: c.get('jwtPayload').sub }))
  return app.fetch
}

/**
 * Cases 6 and 7: supabase-js inside the handler, with the token read as Supabase's Edge Functions
 * docs do (`authHeader.replace('Bearer ', '')`). The docs build a client per request; one client
 * per instance, with no session storage or timers, is the cheapest way to make the same call and
 * so the kindest to the peer.
 *
 * @param method `getClaims` (local check with the cached JWKS) or `getUser` (asks the auth server)
 */
export function supabaseJsHandler(method: 'getClaims' | 'getUser'): FetchHandler {
  const supabase = createClient(requiredEnv('SUPABASE_URL'), requiredEnv('SUPABASE_ANON_KEY'), {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  })
  const app = new Hono()
  app.get('/me', async (c) => {
    const token = (c.req.header('Authorization') ?? '').replace('Bearer ', '')
    if (method === 'getClaims') {
      const { data, error } = await supabase.auth.getClaims(token)
      if (error || !data) return c.json({ error: 'invalid_token' }, 401)
      return c.json({ id: data.claims.sub })
    }
    const { data, error } = await supabase.auth.getUser(token)
    if (error || !data.user) return c.json({ error: 'invalid_token' }, 401)
    return c.json({ id: data.user.id })
  })
  return app.fetch
}

function requiredEnv(name: string): string {
  const value = Deno.env.get(name)
  if (!value) throw new Error(`${name} is not set`)
  return value
}
