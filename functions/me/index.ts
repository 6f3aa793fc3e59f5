// Entry point of the `me` function: configuration is read once per instance, at start-up.
import { loadConfig } from '../_shared/core/config.ts'
import { createMeApp } from './app.ts'

const app = createMeApp(loadConfig(Deno.env, { require: ['dbUrl'] }))

export default { fetch: app.fetch } satisfies Deno.ServeDefaultExport
