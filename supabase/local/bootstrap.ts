/**
 * Makes the stack's plain PostgreSQL cluster look like a Supabase project's database before any
 * migration runs (`bootstrap.sql` beside this file): the API roles, `authenticator`,
 * `supabase_auth_admin` with the auth schema, the schema grants and the default privileges that
 * hand every new object in `public` to the API roles. Not a project migration: a hosted project
 * has all of this already, and `supabase db push` must not try to create it.
 *
 * @module
 */
import postgres from 'postgres'

const bootstrapSql = new URL('./bootstrap.sql', import.meta.url)

/**
 * Runs the bootstrap in one transaction and gives `supabase_auth_admin` its password (the auth
 * server logs in with it). Idempotent: it runs on every start.
 *
 * @param dbUrl superuser connection URL
 * @param authAdminPassword the auth server's database password (hex, so it is safe as a
 *   literal); without it the role's password stays as it is
 * @throws Error when the password is not hex or a statement fails
 */
export async function bootstrapDatabase(dbUrl: string, authAdminPassword?: string): Promise<void> {
  if (authAdminPassword !== undefined && !/^[0-9a-f]+$/.test(authAdminPassword)) {
    throw new Error('The auth database password must be hex')
  }
  const text = await Deno.readTextFile(bootstrapSql)
  const sql = postgres(dbUrl, { max: 1, onnotice: () => {} })
  try {
    await sql.begin(async (tx) => {
      // No parameters: sent as a simple query, so the file may hold many statements and DO blocks.
      await tx.unsafe(text)
      if (authAdminPassword === undefined) return
      // ALTER ROLE takes no bind parameters; the password is hex-only (checked above).
      await tx.unsafe(`alter role supabase_auth_admin password '${authAdminPassword}'`)
    })
  } catch (err) {
    const { code, message } = err as { code?: string; message: string }
    throw new Error(
      `Bootstrapping the database failed: ${message}${code ? ` (SQLSTATE ${code})` : ''}`,
    )
  } finally {
    await sql.end()
  }
}
