-- What a Supabase project's database has before the first project migration runs (hosted, and
-- `supabase start`, whose image runs the same setup), as far as the project's migrations and its
-- privileges depend on it. The local stack runs this on its plain PostgreSQL cluster before the
-- auth server's migrations and the project's. Every statement is idempotent: it runs on every
-- start, also on a state directory made by an older stack.

-- A project's roles, each created where it is missing; their attributes follow.
do $$
declare
  role_name text;
begin
  foreach role_name in array
    array['anon', 'authenticated', 'service_role', 'authenticator', 'supabase_auth_admin']
  loop
    if not exists (select 1 from pg_catalog.pg_roles where rolname = role_name) then
      execute pg_catalog.format('create role %I', role_name);
    end if;
  end loop;
end
$$;

-- Attributes set even where the role already existed (an older stack created some of them).
-- The API roles: anon (no session), authenticated (a signed-in user), service_role (server code
-- holding the secret key, bypasses RLS). Projects today have them INHERIT.
alter role anon nologin inherit nobypassrls;
alter role authenticated nologin inherit nobypassrls;
alter role service_role nologin inherit bypassrls;
-- PostgREST's login role holds no rights of its own (noinherit) and switches to the role a
-- request's key or token names.
alter role authenticator login noinherit nobypassrls;
-- The auth server's login role owns the auth schema and what the auth server's migrations
-- create there.
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
