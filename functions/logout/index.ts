// Entry point of the `logout` function: configuration is read once per instance, at start-up.
import { loadConfig } from '../_shared/core/config.ts'
import { createLogoutApp } from './app.ts'

const app = createLogoutApp(loadConfig(Deno.env, { require: ['anonKey', 'dbUrl'] }))

export default { fetch: app.fetch } satisfies Deno.ServeDefaultExport
