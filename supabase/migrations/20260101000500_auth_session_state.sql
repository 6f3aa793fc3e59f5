-- The session check's answer in three states instead of one boolean, so an instance can cache
-- each the right way:
--   'live'    the session exists, belongs to the user, and the user may use it;
--   'gone'    no session with this id exists (logged out, expired and cleaned up, user deleted):
--             it never comes back, so an instance may remember it for good;
--   'refused' the session exists but is not usable by this user now: another user's session id,
--             a ban, a soft-deleted user, a passed `not_after`. A ban can end, and a mismatched
--             (user, session) pair says nothing about the session's real owner, so this answer is
--             re-checked after the cache TTL and never marks the session itself dead.
create or replace function public.auth_session_state(p_session_id uuid, p_user_id uuid)
returns text
language sql
stable
security definer
set search_path = ''
as $$
  select case
    when s.id is null then 'gone'
    when s.user_id = p_user_id
      and (s.not_after is null or s.not_after > now())
      and u.deleted_at is null
      and (u.banned_until is null or u.banned_until <= now()) then 'live'
    else 'refused'
  end
  from (select 1) as one
  left join auth.sessions as s on s.id = p_session_id
  left join auth.users as u on u.id = s.user_id;
$$;

comment on function public.auth_session_state(uuid, uuid) is
  'edge-auth: live, gone (no such session) or refused (exists, not usable by this user now)';

revoke all on function public.auth_session_state(uuid, uuid) from public;
grant execute on function public.auth_session_state(uuid, uuid) to service_role;
