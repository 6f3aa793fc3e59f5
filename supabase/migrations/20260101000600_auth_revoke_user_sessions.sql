-- Ends every session of a user, for server callers holding the secret key (the `sessions`
-- function's POST /sessions/revoke): what an operator does when an account is compromised, and
-- what Supabase Auth's admin API cannot do without one of the user's own access tokens. Deleting
-- the session rows is what Supabase Auth's own logout does; the refresh tokens and MFA claims of
-- those sessions go with them (foreign keys on auth.sessions, on delete cascade). The user is not
-- banned: a new sign-in still works (ban the user or change the password to keep them out).
-- Returns the ids of the ended sessions, so the caller's instance can forget them at once; an
-- unknown user, or one without sessions, returns none.
create or replace function public.auth_revoke_user_sessions(p_user_id uuid)
returns setof uuid
language sql
volatile
security definer
set search_path = ''
as $$
  delete from auth.sessions s
  where s.user_id = p_user_id
  returning s.id;
$$;

comment on function public.auth_revoke_user_sessions(uuid) is
  'edge-auth: ends every session of a user (refresh tokens cascade); returns the ended ids';

-- Hosted projects grant execute on new functions to anon and authenticated by default privileges,
-- not only through public: each is revoked by name.
revoke all on function public.auth_revoke_user_sessions(uuid) from public, anon, authenticated;
grant execute on function public.auth_revoke_user_sessions(uuid) to service_role;
