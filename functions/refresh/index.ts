// Entry point of the `refresh` function: configuration is read once per instance, at start-up;
// an invalid one is a 500 `server_misconfigured` on every request, not a boot failure.
import { loadConfig } from '@edge-auth/edge-auth'
import { serveFunction } from '@edge-auth/edge-auth/hono'
import { createRefreshApp } from './app.ts'

export default serveFunction(
  'refresh',
  () => createRefreshApp(loadConfig(Deno.env, { require: ['publishableKey'] })),
)
