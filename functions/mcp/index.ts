// Entry point of the `mcp` function: configuration is read once per instance, at start-up;
// an invalid one is a 500 `server_misconfigured` on every request, not a boot failure.
import { loadConfig } from '../_shared/core/config.ts'
import { serveFunction } from '../_shared/hono/adapter.ts'
import { createMcpApp } from './app.ts'

export default serveFunction(
  'mcp',
  () => createMcpApp(loadConfig(Deno.env, { require: ['dbUrl'] })),
)
