import { loadConfig } from '../_shared/config.ts'
import { createLoginApp } from './app.ts'

const app = createLoginApp(loadConfig(Deno.env, { require: ['anonKey'] }))

export default { fetch: app.fetch } satisfies Deno.ServeDefaultExport
