/**
 * The session body login and refresh answer with: the fields Supabase Auth returns, so
 * `supabase.auth.setSession()` accepts it, with the no-cache headers of RFC 6749 §5.1.
 *
 * @module
 */
import type { Session } from '@supabase/supabase-js'
import { jsonResponse } from '../core/responses.ts'

/** The public shape of a session (what Supabase Auth returns, so `supabase.auth.setSession()` accepts it). */
export interface SessionBody {
  access_token: string
  token_type: 'bearer'
  expires_in: number
  expires_at: number | undefined
  refresh_token: string
  user: Session['user']
}

/**
 * Builds a fresh 200 response for a session: no upstream header is copied.
 *
 * @param session the session supabase-js returned
 * @returns the response
 */
export function sessionResponse(session: Session): Response {
  const body: SessionBody = {
    access_token: session.access_token,
    token_type: 'bearer',
    expires_in: session.expires_in,
    expires_at: session.expires_at,
    refresh_token: session.refresh_token,
    user: session.user,
  }
  return jsonResponse(200, body, { 'Pragma': 'no-cache' })
}
