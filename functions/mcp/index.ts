// Entry point of the `mcp` function: configuration is read once per instance, at start-up;
// an invalid one is a 500 `server_misconfigured` on every request, not a boot failure.
import { loadConfig } from '@edge-auth/edge-auth'
import { serveFunction } from '@edge-auth/edge-auth/hono'
import { createMcpApp } from './app.ts'

export default serveFunction(
  'mcp',
  () => createMcpApp(loadConfig(Deno.env, { require: ['dbUrl'] })),
)
