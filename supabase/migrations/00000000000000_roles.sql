-- The API roles of a Supabase project: anon (no session), authenticated (a signed-in user) and
-- service_role (trusted server code, bypasses RLS). Hosted Supabase and `supabase start` create
-- them before any project migration, so every step here is guarded and a no-op there; the
-- no-Docker local stack (supabase/local/) starts from a plain PostgreSQL cluster and needs them.

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
end
$$;

grant usage on schema public to anon, authenticated, service_role;

-- Server code connected as `postgres` switches to the caller's role with `set local role` so that
-- RLS policies apply. A cluster superuser may already do that; where `postgres` is not one, it
-- needs membership. Skipped with a notice where we may not grant it (the platform manages it).
do $$
declare
  api_role text;
begin
  foreach api_role in array array['anon', 'authenticated', 'service_role'] loop
    if not pg_has_role('postgres', api_role, 'member') then
      begin
        execute format('grant %I to postgres', api_role);
      exception when insufficient_privilege then
        raise notice 'cannot grant % to postgres: %', api_role, sqlerrm;
      end;
    end if;
  end loop;
end
$$;
