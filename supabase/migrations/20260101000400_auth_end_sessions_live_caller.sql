-- Ending sessions requires the caller's own session to still exist. Before this, a logout with an
-- expired token whose session had ended long ago (scope global or others) still deleted every
-- other session of the user, for as long as the token's signature was accepted. A session that no
-- longer exists grants nothing: such a call ends nothing and returns 0, like Supabase Auth's own
-- logout, which refuses a bearer whose session is gone.
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
  -- The caller's session row, locked so that a concurrent logout cannot end it between this
  -- check and the delete below.
  perform 1 from auth.sessions s
  where s.id = p_session_id and s.user_id = p_user_id
  for update;
  if not found then
    return 0;
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
