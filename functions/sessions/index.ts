// Entry point of the `sessions` function: configuration is read once per instance, at start-up;
// an invalid one is a 500 `server_misconfigured` on every request, not a boot failure.
import { loadConfig } from '@edge-auth/edge-auth'
import { serveFunction } from '@edge-auth/edge-auth/hono'
import { createSessionsApp } from './app.ts'

export default serveFunction(
  'sessions',
  () => createSessionsApp(loadConfig(Deno.env, { require: ['secretKey', 'dbUrl'] })),
)
