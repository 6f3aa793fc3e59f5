-- What a Supabase project's database has before the first project migration runs (hosted, and
-- `supabase start`, whose image runs the same setup), as far as the project's migrations and its
-- privileges depend on it. The local stack runs this on its plain PostgreSQL cluster before the
-- auth server's migrations and the project's. Every statement is idempotent: it runs on every
-- start, also on a state directory made by an older stack.

-- The API roles: anon (no session), authenticated (a signed-in user), service_role (server code
-- holding the secret key, bypasses RLS). Projects today have them INHERIT.
do $$
begin
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'anon') then
    create role anon;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticated') then
    create role authenticated;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'service_role') then
    create role service_role;
  end if;
  -- PostgREST's login role: it holds no rights of its own (noinherit) and switches to the role
  -- a request's key or token names.
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticator') then
    create role authenticator;
  end if;
  -- The auth server's login role: it owns the auth schema and what the auth server's migrations
  -- create there.
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'supabase_auth_admin') then
    create role supabase_auth_admin;
  end if;
end
$$;

-- Attributes set even where the role already existed (an older stack created some of them).
alter role anon nologin inherit nobypassrls;
alter role authenticated nologin inherit nobypassrls;
alter role service_role nologin inherit bypassrls;
alter role authenticator login noinherit nobypassrls;
alter role supabase_auth_admin login noinherit nocreaterole noreplication;

grant anon, authenticated, service_role to authenticator;
-- Migration code switches to an API role with `set local role` (RLS tests, policies as the
-- caller); on a project `postgres` is no superuser and holds these memberships instead.
grant anon, authenticated, service_role to postgres;

grant usage on schema public to postgres, anon, authenticated, service_role;

-- Every table, function and sequence the migration role creates in public is granted to every API
-- role by default: what a project's migration does not revoke, the publishable key may use
-- through the Data API (`/rest/v1/<table>`, `/rest/v1/rpc/<function>`).
alter default privileges for role postgres in schema public
  grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on sequences to postgres, anon, authenticated, service_role;

-- The auth schema exists before the auth server's first migration, and the API roles may use it:
-- RLS policies call auth.uid() and auth.jwt() as the caller.
create schema if not exists auth authorization supabase_auth_admin;
grant usage on schema auth to anon, authenticated, service_role;
-- The auth server's models and migration table use unqualified names.
alter role supabase_auth_admin set search_path = auth;
