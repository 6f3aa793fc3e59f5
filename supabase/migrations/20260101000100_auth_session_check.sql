-- The session check behind `requireUser(auth, { session: 'check' })`: is this session still live?
--
-- auth.sessions is owned by supabase_auth_admin and has row level security enabled with no
-- policies, so an ordinary role granted SELECT would silently see no rows. A SECURITY DEFINER
-- function owned by the migration's role (postgres) reads it instead, and exposes one boolean,
-- never the row.
--
-- Order: needs auth.sessions and auth.users, so it runs after the auth server's own migrations
-- (hosted projects have them; the no-Docker stack applies project migrations after `auth migrate`).
-- A `language sql` body is checked at creation, so without the auth schema this fails with
-- 42P01/3F000 instead of creating a function that fails at request time.
--
-- Live means: the row exists (logout deletes it, and deleting a user cascades to it), belongs to
-- the token's subject, has not passed `not_after` (set for SAML sessions), and the user is neither
-- soft-deleted nor banned. Session timeboxes and inactivity timeouts are enforced by the auth
-- server at refresh time only, and are not checked here.

create or replace function public.auth_session_is_active(p_session_id uuid, p_user_id uuid)
returns boolean
language sql
stable
security definer
-- Empty search_path: every name below is schema-qualified, so a caller's objects cannot shadow them.
set search_path = ''
as $$
  select exists (
    select 1
    from auth.sessions as s
    join auth.users as u on u.id = s.user_id
    where s.id = p_session_id
      and s.user_id = p_user_id
      and (s.not_after is null or s.not_after > now())
      and u.deleted_at is null
      and (u.banned_until is null or u.banned_until <= now())
  );
$$;

comment on function public.auth_session_is_active(uuid, uuid) is
  'edge-auth: true when the session exists, belongs to the user, and the user is not banned or deleted';

-- Only trusted server code may ask: PUBLIC (and so anon/authenticated through PostgREST) may not,
-- or anyone could probe which session ids exist.
revoke all on function public.auth_session_is_active(uuid, uuid) from public;
grant execute on function public.auth_session_is_active(uuid, uuid) to service_role;
