-- The demo's notes table gets only what the notes function needs. Kept apart from the package's
-- migrations (20261206000100_revoke_api_roles.sql revokes the session functions' grants), so that
-- a project without the notes table can apply those alone; re-granting is idempotent, so a
-- database where the earlier file already did this ends the same.
--
-- Notes: a signed-in user reads, writes and deletes (RLS decides which rows); nothing else, and
-- nothing at all without a session. TRUNCATE would skip RLS; UPDATE has no policy and no use.
-- INSERT covers the body alone: the id, the owner (auth.uid()) and the time are the database's.
-- Through the Data API a caller could otherwise date a note (and so place it anywhere in the
-- pages) or choose its id (a duplicate-key error tells whether a note with that id exists).
-- SELECT and DELETE stay table-wide: RLS gives the caller only their own rows, every column of
-- which is theirs to read (and DELETE has no column form).
revoke all on table public.notes from anon;
revoke all on table public.notes from authenticated;
grant select, delete on table public.notes to authenticated;
grant insert (body) on table public.notes to authenticated;
