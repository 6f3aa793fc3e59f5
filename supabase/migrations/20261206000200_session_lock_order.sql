-- Sessions are locked in one order, and no session function waits for a lock for long.
--
-- Lock order. public.auth_end_sessions (logout of an expired token) locked the caller's own
-- session first and then deleted the user's other sessions, while public.auth_revoke_user_sessions
-- (sessions/revoke) deleted them in whatever order the scan met them: run together for one user,
-- each could hold a session the other waited for, and PostgreSQL ended one of them with a
-- deadlock (40P01). Now every statement here that locks sessions first locks all the sessions it
-- may touch in id order, and only then deletes: two of them for the same user wait for each
-- other, in turn, and never deadlock. A deadlock with another writer (the auth server deletes in
-- its own order) is still possible; the functions run such a statement once more.
--
-- Lock waits. A migration waiting behind a long transaction, a VACUUM FULL or an auth server
-- upgrade altering auth.sessions holds a lock that queues every reader behind it; the session
-- check then waited as long as the lock lasted. Each session function now stops waiting after
-- 1.2 s (lock_timeout, set on the function: it holds through a transaction pooler, where a
-- session setting would not, and leaves the caller's other statements alone) and fails with
-- 55P03, which the functions answer with 503 and Retry-After. 1.2 s is four fifths of the
-- functions' default database budget (EDGE_AUTH_DB_TIMEOUT_MS, 1500 ms), so the server gives up
-- first, with an error that says why, and the connection stays usable; and it is longer than
-- PostgreSQL's default deadlock_timeout (1 s), so a deadlock is still reported as one (40P01),
-- which the functions repeat once, rather than as a lock timeout.
--
-- `create or replace` and `alter function` keep every grant and comment; no object is added.

create or replace function public.auth_end_sessions(p_user_id uuid, p_session_id uuid, p_scope text)
returns integer
language plpgsql
volatile
security definer
set search_path = ''
set lock_timeout = '1200ms'
as $$
declare
  ended integer;
begin
  if p_scope not in ('global', 'local', 'others') then
    raise exception 'invalid scope' using errcode = '22023';
  end if;
  -- Every session of the user, locked in id order before anything is deleted (the order of
  -- public.auth_revoke_user_sessions too); the caller's own is among them, so no concurrent
  -- logout can end it between the check below and the delete.
  perform 1 from auth.sessions s where s.user_id = p_user_id order by s.id for update;
  perform 1 from auth.sessions s where s.id = p_session_id and s.user_id = p_user_id;
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

create or replace function public.auth_revoke_user_sessions(p_user_id uuid)
returns setof uuid
language plpgsql
volatile
security definer
set search_path = ''
set lock_timeout = '1200ms'
as $$
begin
  -- In id order before anything is deleted, as public.auth_end_sessions does.
  perform 1 from auth.sessions s where s.user_id = p_user_id order by s.id for update;
  return query
    delete from auth.sessions s
    where s.user_id = p_user_id
    returning s.id;
end;
$$;

-- The readers of the session check and health: a lock held on auth.sessions, auth.users or
-- edge_auth.revocations fails them after 1.2 s instead of queueing them behind it.
alter function public.auth_session_state(uuid, uuid) set lock_timeout = '1200ms';
alter function public.auth_session_lookup(uuid, uuid) set lock_timeout = '1200ms';

-- The revocation poll, as before, except that a poll that prunes deletes at most 10,000 rows: a
-- log that grew while no instance pruned it (a project without traffic for days) is worked off a
-- batch per prune (one a minute per instance) instead of in one delete that outlasts the
-- functions' database budget, and would be rolled back and tried again at every prune.
create or replace function public.auth_revocations_since(p_watermark xid8, p_keep_seconds integer)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
set lock_timeout = '1200ms'
as $$
declare
  -- Taken before the rows are read: a later snapshot would see commits whose rows this poll
  -- missed and could move the watermark past them.
  v_next xid8 := pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot());
  v_entries jsonb := '[]';
begin
  if p_keep_seconds is not null then
    delete from edge_auth.revocations
    where id in (
      select r.id from edge_auth.revocations as r
      where r.at < pg_catalog.now()
        - pg_catalog.make_interval(secs => greatest(p_keep_seconds, 3600))
      order by r.id
      limit 10000);
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
