// Entry point of the `refresh` function: configuration is read once per instance, at start-up.
import { loadConfig } from '../_shared/core/config.ts'
import { createRefreshApp } from './app.ts'

const app = createRefreshApp(loadConfig(Deno.env, { require: ['anonKey'] }))

export default { fetch: app.fetch } satisfies Deno.ServeDefaultExport
