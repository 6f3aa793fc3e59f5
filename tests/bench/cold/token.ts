// Cold start of edge-auth's `me` route trusting the token until `exp` (no database), like the peer.
import { oursHandler } from '../apps_ours.ts'

export default { fetch: oursHandler('token') } satisfies Deno.ServeDefaultExport
