import { createAuth } from '../_shared/auth.ts'
import { loadConfig } from '../_shared/config.ts'
import { database } from '../_shared/database.ts'
import { createNotesApp } from './app.ts'

const config = loadConfig(Deno.env, { require: ['dbUrl'] })
const app = createNotesApp(config, { auth: createAuth(config), sql: () => database(config) })

export default { fetch: app.fetch } satisfies Deno.ServeDefaultExport
