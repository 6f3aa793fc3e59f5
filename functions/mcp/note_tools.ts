/**
 * The MCP tools of the `mcp` function: list, add and delete the caller's notes, each query run
 * as the caller under row-level security, as the `notes` function runs them.
 *
 * @module
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { z } from 'zod'
import { isStorableText } from '@edge-auth/edge-auth/http'
import { asAuthenticatedUser, type Sql } from '@edge-auth/edge-auth/postgres'

interface NoteRow {
  id: string
  body: string
  created_at: Date
}

/**
 * A note's body as `POST /notes` takes it: 1 to 4000 characters, which zod counts in code points as
 * the column's check does (an emoji is one), and text PostgreSQL stores as sent: no NUL, which it
 * refuses, and no lone surrogate, which would be stored as U+FFFD.
 */
const noteBody = z.string().min(1).max(4000).refine(
  isStorableText,
  'no NUL character and no lone surrogate',
)

/**
 * Registers `list_notes`, `add_note` and `delete_note` on `server` for one caller.
 *
 * @param server the request's MCP server
 * @param sql the shared client
 * @param claims the caller's verified claims
 */
export function registerNoteTools(
  server: McpServer,
  sql: Sql,
  claims: Readonly<Record<string, unknown>>,
): void {
  const asUser = <T>(work: Parameters<typeof asAuthenticatedUser<T>>[2]) =>
    asAuthenticatedUser(sql, claims, work)
  const text = (value: unknown) => ({
    content: [{ type: 'text' as const, text: JSON.stringify(value) }],
  })

  server.registerTool('list_notes', {
    description: "Lists the user's notes, newest first (at most 100).",
    inputSchema: {},
  }, async () => {
    const rows = await asUser((tx) =>
      tx<NoteRow[]>`select id, body, created_at from public.notes
                   order by created_at desc, id desc limit 100`
    )
    return text(rows.map(toNote))
  })

  server.registerTool('add_note', {
    description: 'Adds a note for the user.',
    inputSchema: { body: noteBody },
  }, async ({ body }: { body: string }) => {
    const [row] = await asUser((tx) =>
      tx<NoteRow[]>`insert into public.notes (body) values (${body})
                   returning id, body, created_at`
    )
    return text(toNote(row!))
  })

  server.registerTool('delete_note', {
    description: "Deletes one of the user's notes by id.",
    inputSchema: { id: z.uuid() },
  }, async ({ id }: { id: string }) => {
    const rows = await asUser((tx) =>
      tx`delete from public.notes where id = ${id}::uuid returning id`
    )
    if (rows.length === 0) return { ...text({ error: 'not_found' }), isError: true }
    return text({ deleted: id })
  })
}

function toNote(row: NoteRow) {
  return { id: row.id, body: row.body, created_at: row.created_at.toISOString() }
}
