// Entry point of the `notes` function: configuration is read once per instance, at start-up;
// an invalid one is a 500 `server_misconfigured` on every request, not a boot failure.
import { loadConfig } from '@edge-auth/edge-auth'
import { serveFunction } from '@edge-auth/edge-auth/hono'
import { createNotesApp } from './app.ts'

export default serveFunction(
  'notes',
  () => createNotesApp(loadConfig(Deno.env, { require: ['dbUrl'] })),
)
