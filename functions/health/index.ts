// Entry point of the `health` function: configuration is read once per instance, at start-up;
// an invalid one is a 500 `server_misconfigured` on every request, not a boot failure.
import { loadConfig } from '@edge-auth/edge-auth'
import { serveFunction } from '@edge-auth/edge-auth/hono'
import { createHealthApp } from './app.ts'

export default serveFunction(
  'health',
  () => createHealthApp(loadConfig(Deno.env, { require: ['dbUrl'] })),
)
