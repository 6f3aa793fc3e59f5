// Entry point of the `notes` function: configuration is read once per instance, at start-up.
import { loadConfig } from '../_shared/core/config.ts'
import { createNotesApp } from './app.ts'

const app = createNotesApp(loadConfig(Deno.env, { require: ['dbUrl'] }))

export default { fetch: app.fetch } satisfies Deno.ServeDefaultExport
