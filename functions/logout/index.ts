import { createAuth } from '../_shared/auth.ts'
import { loadConfig } from '../_shared/config.ts'
import { database } from '../_shared/database.ts'
import { createLogoutApp } from './app.ts'

const config = loadConfig(Deno.env, { require: ['anonKey', 'dbUrl'] })
const app = createLogoutApp(config, { auth: createAuth(config), sql: () => database(config) })

export default { fetch: app.fetch } satisfies Deno.ServeDefaultExport
