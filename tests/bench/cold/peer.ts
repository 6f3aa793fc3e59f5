// Cold start of the peer: `@supabase/server`'s Hono adapter, loading only what it needs.
import { supabaseServerHandler } from '../apps_supabase_server.ts'

export default { fetch: supabaseServerHandler() } satisfies Deno.ServeDefaultExport
