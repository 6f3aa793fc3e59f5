// Entry point of the `me` function: configuration is read once per instance, at start-up;
// an invalid one is a 500 `server_misconfigured` on every request, not a boot failure.
import { authFromConfig, loadConfig } from '@edge-auth/edge-auth'
import { serveFunction } from '@edge-auth/edge-auth/hono'
import { createMeApp } from './app.ts'

export default serveFunction('me', () => {
  const config = loadConfig(Deno.env, { require: ['dbUrl'] })
  const auth = authFromConfig(config)
  // Its routes check sessions: the database connection and the first revocation poll start now,
  // so a cold instance's first request waits for neither.
  auth.warmUp()
  return createMeApp(config, { auth })
})
