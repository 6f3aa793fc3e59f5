-- Notes: one row per note, owned by the user who wrote it. Row-level security, not the function's
-- code, decides who sees and deletes what: the function runs its queries as `authenticated` with
-- the caller's verified claims in `request.jwt.claims`, the way PostgREST does.
create table if not exists public.notes (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  body text not null check (char_length(body) between 1 and 4000),
  created_at timestamptz not null default now()
);

create index if not exists notes_user_created_idx on public.notes (user_id, created_at desc, id desc);

alter table public.notes enable row level security;

drop policy if exists notes_select_own on public.notes;
create policy notes_select_own on public.notes
  for select to authenticated using ((select auth.uid()) = user_id);

drop policy if exists notes_insert_own on public.notes;
create policy notes_insert_own on public.notes
  for insert to authenticated with check ((select auth.uid()) = user_id);

drop policy if exists notes_delete_own on public.notes;
create policy notes_delete_own on public.notes
  for delete to authenticated using ((select auth.uid()) = user_id);

grant select, insert, delete on public.notes to authenticated;
