/**
 * The reference for case 3: jose's `jwtVerify` in a plain Hono middleware, apart from the other
 * apps because it loads the whole of jose.
 *
 * @module
 */
import { Hono } from 'hono'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { loadConfig } from '../../functions/_shared/core/config.ts'
import { verifyOptions } from '../../functions/_shared/tokens/verify.ts'
import type { FetchHandler } from './apps_ours.ts'

/**
 * The reference for case 3: jose's `jwtVerify` in a plain Hono middleware, with the remote key set
 * built once (Supabase's jose template) and the same policy as edge-auth, so the comparison is of
 * edge-auth's wrapper, not of the rules.
 */
export function joseHandler(): FetchHandler {
  const config = loadConfig(Deno.env)
  if (config.inlineKeys.length > 0) throw new Error('The jose case needs a remote JWKS')
  const keys = createRemoteJWKSet(config.jwksUrl)
  // The same policy as edge-auth, so the comparison is of edge-auth's wrapper, not of the rules.
  const options = verifyOptions(config)
  const app = new Hono<{ Variables: { sub: string } }>()
  app.get('/me', async (c, next) => {
    const header = c.req.header('Authorization') ?? ''
    try {
      const { payload } = await jwtVerify(header.replace(/^Bearer /, ''), keys, options)
      c.set('sub', payload.sub!)
    } catch {
      return c.json({ error: 'invalid_token' }, 401)
    }
    await next()
  }, (c) => c.json({ id: c.var.sub }))
  return app.fetch
}
