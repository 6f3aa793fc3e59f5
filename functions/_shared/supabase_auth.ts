/**
 * Calls to Supabase Auth for login, refresh and logout through supabase-js: one client per
 * request with a guarded `fetch` (time budget, no redirects), its failures mapped to edge-auth's
 * statuses, and the session body a login or refresh answers.
 *
 * @module
 */
export {
  createUpstreamClient,
  type UpstreamClient,
  type UpstreamClientOptions,
  upstreamFailure,
  type UpstreamOutcome,
} from './upstream/auth_client.ts'
export { type SessionBody, sessionResponse } from './upstream/session_body.ts'
