// Cold-start floor: the smallest Hono function, no authentication (what any Hono function pays).
import { Hono } from 'hono'

const app = new Hono()
app.get('/me', (c) => c.json({ id: 'anonymous' }))

export default { fetch: app.fetch } satisfies Deno.ServeDefaultExport
