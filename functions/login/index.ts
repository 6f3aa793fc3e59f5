// Entry point of the `login` function: configuration is read once per instance, at start-up;
// an invalid one is a 500 `server_misconfigured` on every request, not a boot failure.
import { loadConfig } from '@edge-auth/edge-auth'
import { serveFunction } from '@edge-auth/edge-auth/hono'
import { createLoginApp } from './app.ts'

export default serveFunction(
  'login',
  () => createLoginApp(loadConfig(Deno.env, { require: ['publishableKey'] })),
)
