-- Ends sessions of a user without the auth server: the logout function uses it for a caller whose
-- access token has expired (the auth server refuses an expired bearer, yet a logout must still
-- end the session). The function verifies the token's signature first, so user and session ids
-- here are authentic. Deleting the session rows is what Supabase Auth's own logout does; the
-- refresh tokens go with them (foreign key, on delete cascade).
create or replace function public.auth_end_sessions(p_user_id uuid, p_session_id uuid, p_scope text)
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  ended integer;
begin
  if p_scope not in ('global', 'local', 'others') then
    raise exception 'invalid scope' using errcode = '22023';
  end if;
  delete from auth.sessions s
  where s.user_id = p_user_id
    and (p_scope = 'global'
      or (p_scope = 'local' and s.id = p_session_id)
      or (p_scope = 'others' and s.id <> p_session_id));
  get diagnostics ended = row_count;
  return ended;
end;
$$;

revoke all on function public.auth_end_sessions(uuid, uuid, text) from public;
grant execute on function public.auth_end_sessions(uuid, uuid, text) to service_role;
