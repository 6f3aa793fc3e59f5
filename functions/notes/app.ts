import type { Hono } from 'hono'
import {
  ApiError,
  type AppDeps,
  authFor,
  type Config,
  invalidRequest,
  invalidToken,
  isUuid,
} from '@edge-auth/edge-auth'
import {
  type AuthEnv,
  createFunctionApp,
  methodNotAllowed,
  requireUser,
} from '@edge-auth/edge-auth/hono'
import { type BodyFields, jsonResponse, readJsonBody } from '@edge-auth/edge-auth/http'
import { asAuthenticatedUser } from '@edge-auth/edge-auth/postgres'
import { decodeCursor, encodeCursor } from './cursor.ts'

const DEFAULT_PAGE = 20
const MAX_PAGE = 100
/**
 * A note's body: 1 to 4000 characters, counted as the column's check counts them (code points,
 * `char_length`); the size cap follows from it.
 */
const FIELDS: BodyFields<'body'> = { body: { required: true, maxLength: 4000 } }

interface NoteRow {
  id: string
  body: string
  created_at: Date
  /** `created_at` in microseconds since the epoch, exactly: the cursor's position. */
  position: string
}

/** The columns of a note, with its exact position for the cursor. */
const COLUMNS =
  'id, body, created_at, (extract(epoch from created_at) * 1000000)::bigint::text as position'

/**
 * `GET /notes[?limit=&cursor=]`, `POST /notes {body}`, `DELETE /notes/:id`: the caller's notes.
 * Ownership is enforced by row-level security in PostgreSQL; the queries name no user.
 */
export function createNotesApp(config: Config, deps: AppDeps = {}): Hono<AuthEnv> {
  const auth = authFor(config, deps)
  const methods = ['GET', 'POST', 'DELETE']
  const app = createFunctionApp<AuthEnv>('notes', {
    corsOrigins: config.corsOrigins,
    methods,
    query: { 'GET /': ['limit', 'cursor'] },
  })
  // Notes change data, so a signed-out session is refused at once, not at token expiry.
  const authenticated = requireUser(auth, { session: 'check' })

  app.get('/', authenticated, async (c) => {
    const query = new URL(c.req.url).searchParams
    const limit = readLimit(query)
    const cursor = readCursor(query)
    const rows = await asAuthenticatedUser(
      auth.database(),
      c.var.auth.claims,
      (tx) =>
        tx<NoteRow[]>`
        select ${tx.unsafe(COLUMNS)} from public.notes
        where ${
          cursor
            ? tx.fragment`(created_at, id) < (
              'epoch'::timestamptz + ${cursor.micros}::bigint * interval '1 microsecond',
              ${cursor.id}::uuid)`
            : tx.fragment`true`
        }
        order by created_at desc, id desc
        limit ${limit + 1}`,
    )
    const page = rows.slice(0, limit)
    const last = page.at(-1)
    return jsonResponse(200, {
      notes: page.map(toNote),
      next_cursor: rows.length > limit && last ? encodeCursor(last.position, last.id) : null,
    })
  })

  app.post('/', authenticated, async (c) => {
    const { body } = await readJsonBody(c.req.raw, { fields: FIELDS })
    const [row] = await asAuthenticatedUser(
      auth.database(),
      c.var.auth.claims,
      (tx) =>
        tx<
          NoteRow[]
        >`insert into public.notes (body) values (${body!}) returning ${tx.unsafe(COLUMNS)}`,
    ).catch((error) => {
      // The owner's row is gone (the user was deleted after this instance last saw the session
      // live): the session went with it, which is what the caller is told.
      if ((error as { code?: unknown } | null)?.code === FOREIGN_KEY_VIOLATION) {
        auth.forgetSession(c.var.auth.session.id)
        throw invalidToken('sessionRevoked', error)
      }
      throw error
    })
    return jsonResponse(201, toNote(row!))
  })

  app.delete('/:id', authenticated, async (c) => {
    const id = c.req.param('id')
    if (!isUuid(id)) throw invalidRequest('invalidParameter', 'id')
    const rows = await asAuthenticatedUser(
      auth.database(),
      c.var.auth.claims,
      (tx) => tx`delete from public.notes where id = ${id}::uuid returning id`,
    )
    // Someone else's note is invisible under RLS, so it is "not found" exactly like a missing one.
    if (rows.length === 0) throw new ApiError(404, 'not_found', 'notFound')
    return c.body(null, 204)
  })

  app.all('/', methodNotAllowed(['GET', 'POST']))
  app.all('/:id', methodNotAllowed(['DELETE']))
  return app
}

/** SQLSTATE 23503: here only `notes.user_id`, whose user no longer exists. */
const FOREIGN_KEY_VIOLATION = '23503'

function toNote(row: NoteRow) {
  return { id: row.id, body: row.body, created_at: row.created_at.toISOString() }
}

function readLimit(query: URLSearchParams): number {
  const value = query.get('limit')
  if (value === null) return DEFAULT_PAGE
  if (!/^\d{1,3}$/.test(value) || Number(value) < 1 || Number(value) > MAX_PAGE) {
    throw invalidRequest('invalidParameter', 'limit')
  }
  return Number(value)
}

function readCursor(query: URLSearchParams) {
  const value = query.get('cursor')
  if (value === null) return undefined
  const cursor = decodeCursor(value)
  if (!cursor) throw invalidRequest('invalidParameter', 'cursor')
  return cursor
}
