/**
 * A database of the stack's PostgreSQL made for one case and dropped after it, for what must run
 * on a database of its own (the bootstrap after drift, migrations without the auth schema).
 *
 * @module
 */
import postgres from 'postgres'
import { testStack } from './stack.ts'

/**
 * Creates a database named `<prefix>_<random>` through `admin`, runs `work` with its URL and a
 * one-connection client of it, then closes the client and drops the database.
 *
 * @param admin a superuser client of the stack's PostgreSQL
 * @param prefix the start of the database's name
 * @param work what to run on it
 * @returns what `work` returns
 */
export async function withScratchDatabase<T>(
  admin: postgres.Sql,
  prefix: string,
  work: (url: string, db: postgres.Sql) => Promise<T>,
): Promise<T> {
  const name = `${prefix}_${crypto.randomUUID().replaceAll('-', '')}`
  await admin.unsafe(`create database ${name}`)
  const url = new URL(testStack().dbUrl)
  url.pathname = `/${name}`
  const db = postgres(url.href, { max: 1, onnotice: () => {} })
  try {
    return await work(url.href, db)
  } finally {
    await db.end()
    await admin.unsafe(`drop database ${name}`)
  }
}
