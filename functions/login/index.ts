// Entry point of the `login` function: configuration is read once per instance, at start-up.
import { loadConfig } from '../_shared/core/config.ts'
import { createLoginApp } from './app.ts'

const app = createLoginApp(loadConfig(Deno.env, { require: ['anonKey'] }))

export default { fetch: app.fetch } satisfies Deno.ServeDefaultExport
