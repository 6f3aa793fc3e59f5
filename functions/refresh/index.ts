import { loadConfig } from '../_shared/config.ts'
import { createRefreshApp } from './app.ts'

const app = createRefreshApp(loadConfig(Deno.env, { require: ['anonKey'] }))

export default { fetch: app.fetch } satisfies Deno.ServeDefaultExport
