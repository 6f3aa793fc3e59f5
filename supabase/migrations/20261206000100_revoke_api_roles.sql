-- The API roles get only what they need. A Supabase project grants every function, table and
-- sequence that the migration role creates in public to anon, authenticated and service_role
-- (default privileges), and the Data API serves each public function at /rest/v1/rpc/<name> to
-- anyone holding the publishable key. Revoking EXECUTE from PUBLIC alone left those direct grants
-- in place: anyone could end a user's sessions with ids read from one of that user's access
-- tokens, or ask whether a session is live.
--
-- Every SECURITY DEFINER function here runs with its owner's rights over auth.sessions; only
-- server code may call one (the functions connect as the owner; service_role keeps EXECUTE for
-- server callers holding the secret key). The trigger functions run as triggers, never as calls.
revoke execute on function public.auth_session_state(uuid, uuid) from public, anon, authenticated;
revoke execute on function public.auth_session_lookup(uuid, uuid) from public, anon, authenticated;
revoke execute on function public.auth_end_sessions(uuid, uuid, text)
  from public, anon, authenticated;
revoke execute on function public.auth_revoke_user_sessions(uuid) from public, anon, authenticated;
revoke execute on function public.auth_revocations_since(xid8, integer)
  from public, anon, authenticated;
revoke execute on function edge_auth.log_ended_sessions() from public, anon, authenticated;
revoke execute on function edge_auth.log_user_revocation() from public, anon, authenticated;

-- Replaced by auth_session_state and auth_session_lookup; nothing calls it any more.
drop function if exists public.auth_session_is_active(uuid, uuid);
