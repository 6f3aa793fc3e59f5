// Entry point of the `health` function: configuration is read once per instance, at start-up.
import { loadConfig } from '../_shared/core/config.ts'
import { createHealthApp } from './app.ts'

const app = createHealthApp(loadConfig(Deno.env, { require: ['dbUrl'] }))

export default { fetch: app.fetch } satisfies Deno.ServeDefaultExport
