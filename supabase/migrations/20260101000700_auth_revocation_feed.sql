-- The revocation feed: a log of what ended a session's right to be used (a session deleted, a
-- user banned, soft-deleted or deleted), written by triggers on auth.sessions and auth.users, so
-- that an instance asks one question per staleness period ("what was revoked since my last
-- look?") instead of one per cached session. Only what revokes is logged: an instance learns of
-- a ban that ends by asking auth_session_lookup again (a refused answer is re-asked after the TTL).
--
-- Out-of-order commits: each row carries its writing transaction's id (xid8). A poll returns the
-- rows whose xid is at or above the caller's watermark and, as the next watermark, the xmin of its
-- own snapshot: a transaction still running at a poll has an xid at or above that xmin (or gets
-- one later, higher still), so its rows come in a later poll whatever the order of the commits.
-- Rows may come twice; the caller dedupes them by id. Rows older than the longest token life are
-- pruned: every token that a pruned row could concern has expired.
--
-- The log lives in its own schema (nothing may be created in auth), reachable by no API role.

create schema if not exists edge_auth;
revoke all on schema edge_auth from public;

create table if not exists edge_auth.revocations (
  id bigint generated always as identity primary key,
  xid xid8 not null default pg_catalog.pg_current_xact_id(),
  at timestamptz not null default pg_catalog.now(),
  session_id uuid,
  user_id uuid,
  reason text not null
    check (reason in ('session_ended', 'user_banned', 'user_soft_deleted', 'user_deleted'))
);
create index if not exists revocations_xid on edge_auth.revocations (xid);
create index if not exists revocations_at on edge_auth.revocations (at);
alter table edge_auth.revocations enable row level security;
revoke all on table edge_auth.revocations from public;

-- Statement level with a transition table: ending every session of a user is one insert.
-- SECURITY DEFINER: the auth server's role writes auth.sessions but has no right on the log.
create or replace function edge_auth.log_ended_sessions()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into edge_auth.revocations (session_id, user_id, reason)
  select o.id, o.user_id, 'session_ended' from ended as o;
  return null;
end;
$$;

create or replace function edge_auth.log_user_revocation()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into edge_auth.revocations (user_id, reason)
  values (
    old.id,
    case
      when tg_op = 'DELETE' then 'user_deleted'
      when old.deleted_at is null and new.deleted_at is not null then 'user_soft_deleted'
      else 'user_banned'
    end
  );
  return null;
end;
$$;

revoke all on function edge_auth.log_ended_sessions() from public;
revoke all on function edge_auth.log_user_revocation() from public;

drop trigger if exists edge_auth_log_ended_sessions on auth.sessions;
create trigger edge_auth_log_ended_sessions
  after delete on auth.sessions
  referencing old table as ended
  for each statement execute function edge_auth.log_ended_sessions();

-- Row level with a WHEN clause: every sign-in updates auth.users, and the filter runs without
-- calling the function. A ban set or moved later, and a soft delete, revoke; lifting a ban does not.
drop trigger if exists edge_auth_log_user_update on auth.users;
create trigger edge_auth_log_user_update
  after update of banned_until, deleted_at on auth.users
  for each row
  when (
    (old.deleted_at is null and new.deleted_at is not null)
    or (new.banned_until is not null and new.banned_until > pg_catalog.now()
      and new.banned_until is distinct from old.banned_until)
  )
  execute function edge_auth.log_user_revocation();

drop trigger if exists edge_auth_log_user_delete on auth.users;
create trigger edge_auth_log_user_delete
  after delete on auth.users
  for each row execute function edge_auth.log_user_revocation();

-- One poll, one statement (a transaction pooler keeps no session state): the rows since
-- p_watermark (none on a first poll, p_watermark null, which only sets the watermark) and the
-- next watermark. With p_keep_seconds, rows older than that are deleted first (at least an hour:
-- a caller cannot empty the log for the others).
create or replace function public.auth_revocations_since(p_watermark xid8, p_keep_seconds integer)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  -- Taken before the rows are read: a later snapshot would see commits whose rows this poll
  -- missed and could move the watermark past them.
  v_next xid8 := pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot());
  v_entries jsonb := '[]';
begin
  if p_keep_seconds is not null then
    delete from edge_auth.revocations
    where at < pg_catalog.now() - pg_catalog.make_interval(secs => greatest(p_keep_seconds, 3600));
  end if;
  if p_watermark is not null then
    select coalesce(
      pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'id', r.id::text, 'xid', r.xid::text, 'session_id', r.session_id, 'user_id', r.user_id,
        'reason', r.reason) order by r.id),
      '[]')
    into v_entries
    from edge_auth.revocations as r
    where r.xid >= p_watermark;
  end if;
  return pg_catalog.jsonb_build_object('watermark', v_next::text, 'entries', v_entries);
end;
$$;

comment on function public.auth_revocations_since(xid8, integer) is
  'edge-auth: revocations written by transactions at or above the watermark, and the next one';

-- The existence query with a live session's own end (not_after), which no write reports.
create or replace function public.auth_session_lookup(p_session_id uuid, p_user_id uuid)
returns table (state text, not_after timestamptz)
language sql
stable
security definer
set search_path = ''
as $$
  select public.auth_session_state(p_session_id, p_user_id),
    (select s.not_after from auth.sessions as s where s.id = p_session_id);
$$;

comment on function public.auth_session_lookup(uuid, uuid) is
  'edge-auth: auth_session_state and the session''s not_after';

revoke all on function public.auth_revocations_since(xid8, integer)
  from public, anon, authenticated;
revoke all on function public.auth_session_lookup(uuid, uuid) from public, anon, authenticated;
grant execute on function public.auth_revocations_since(xid8, integer) to service_role;
grant execute on function public.auth_session_lookup(uuid, uuid) to service_role;
