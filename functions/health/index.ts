import { createAuth } from '../_shared/auth.ts'
import { loadConfig } from '../_shared/config.ts'
import { createHealthApp, databasePing } from './app.ts'

const config = loadConfig(Deno.env, { require: ['dbUrl'] })
const app = createHealthApp(config, {
  auth: createAuth(config),
  pingDatabase: databasePing(config),
})

export default { fetch: app.fetch } satisfies Deno.ServeDefaultExport
