/**
 * Queries as tagged templates: every `${value}` is a parameter, never SQL text, so a value cannot
 * change the statement. `sql.fragment` builds a piece of a query to put inside another, and
 * `sql.unsafe` marks SQL text the code itself wrote (column lists). Transactions run on one
 * pooled connection. Every query and transaction has a time budget, the wait for a connection
 * included: past it the caller gets a `DatabaseTimeoutError` at once.
 *
 * @module
 */
import { DEFAULT_DB_TIMEOUT_MS } from '../core/config.ts'
import { DatabaseTimeoutError } from './database_errors.ts'
import type { ConnectionOptions } from './pg_options.ts'
import type { PgConnection } from './pg_connection.ts'
import { PgPool, type PoolSettings } from './pg_pool.ts'
import { serializeValue } from './pg_types.ts'

const FRAGMENT: unique symbol = Symbol('sql fragment')

/** A piece of a query, to be placed inside another template. */
export interface Fragment {
  readonly [FRAGMENT]: { readonly strings: readonly string[]; readonly values: readonly unknown[] }
}

/** A result row: column name → value (see `pg_types.ts` for the value types). */
export type Row = Record<string, unknown>

/** What runs queries: the client, or a transaction. */
export interface Queryable {
  /**
   * Runs the statement; `${value}`s are sent as parameters.
   *
   * @returns the rows
   * @throws {PostgresError} when PostgreSQL refuses it
   * @throws {DatabaseConnectionError} when it cannot be answered
   */
  <T extends readonly unknown[] = Row[]>(
    strings: TemplateStringsArray,
    ...values: unknown[]
  ): Promise<T>
  /** A piece of a query, with its own parameters, to put inside a template. */
  fragment(strings: TemplateStringsArray, ...values: unknown[]): Fragment
  /** SQL text written by the code, never from a request, to put inside a template. */
  unsafe(text: string): Fragment
}

/** The client of one database. */
export interface Sql extends Queryable {
  /**
   * Runs `work` in a transaction on one connection: committed when it resolves, rolled back when
   * it throws.
   *
   * @param work the transaction's queries, on `tx`
   * @returns what `work` returns
   * @throws what `work` threw, or an Error when PostgreSQL rolled the transaction back anyway
   */
  begin<T>(work: (tx: Queryable) => Promise<T>): Promise<T>
  /** Closes every connection; later queries fail with `CONNECTION_ENDED`. */
  end(): Promise<void>
  /**
   * The time budget of each query and of each transaction as a whole, in milliseconds: the wait
   * for a pooled connection, connecting and the statements (see {@linkcode SqlSettings}).
   */
  readonly timeoutMs: number
}

/** The pool's size and idle timeout, and the time budget of a query or transaction. */
export interface SqlSettings extends PoolSettings {
  /**
   * Past this many milliseconds a query or transaction fails with a `DatabaseTimeoutError`, and
   * its connection is closed, never pooled again (what it was doing is unknown). Default
   * `DEFAULT_DB_TIMEOUT_MS`.
   */
  readonly timeoutMs?: number
}

/** PostgreSQL's limit: a parameter count is a 16-bit number. */
const MAX_PARAMETERS = 65_535

type Run = (text: string, parameters: (string | null)[], types: number[]) => Promise<{
  rows: Row[]
}>

/**
 * Creates a client with its own pool. Nothing connects until the first query.
 *
 * @param options where to connect
 * @param settings the pool's size and idle timeout, the time budget of a query or transaction
 * @returns the client
 */
export function createSql(options: ConnectionOptions, settings: SqlSettings): Sql {
  const pool = new PgPool(options, settings)
  const timeoutMs = settings.timeoutMs ?? DEFAULT_DB_TIMEOUT_MS
  const sql = queryable((text, parameters, types) =>
    withConnection(pool, timeoutMs, (connection) => connection.query(text, parameters, types))
  ) as Sql
  sql.begin = <T>(work: (tx: Queryable) => Promise<T>): Promise<T> =>
    withConnection(pool, timeoutMs, async (connection) => {
      let open = true
      const tx = queryable((text, parameters, types) => {
        if (!open) return Promise.reject(new Error('The transaction is over'))
        return connection.query(text, parameters, types)
      })
      try {
        await connection.query('begin', [], [])
        const result = await work(tx)
        const { command } = await connection.query('commit', [], [])
        // A statement that failed inside `work` and was caught there leaves a failed transaction,
        // which PostgreSQL ends with a rollback even when asked to commit.
        if (command !== 'COMMIT') throw new Error('The transaction was rolled back')
        return result
      } catch (error) {
        await rollback(connection)
        throw error
      } finally {
        open = false
      }
    })
  sql.end = () => {
    pool.end()
    return Promise.resolve()
  }
  return Object.defineProperty(sql, 'timeoutMs', { value: timeoutMs, enumerable: true })
}

/**
 * Runs `use` on a pooled connection within `timeoutMs`, the wait for the connection included.
 * Past it the caller gets a {@linkcode DatabaseTimeoutError} at once, and the connection is
 * closed, never handed to another caller: its state is unknown (a statement may still run, a
 * transaction may be open), and a server that stopped answering would keep it forever. A
 * connection that arrives after the budget (one being opened meanwhile) goes to the pool unused.
 */
function withConnection<T>(
  pool: PgPool,
  timeoutMs: number,
  use: (connection: PgConnection) => Promise<T>,
): Promise<T> {
  const abort = new AbortController()
  let connection: PgConnection | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new DatabaseTimeoutError(timeoutMs)
      abort.abort(error)
      // Its query in flight fails at once, and the pool drops it.
      connection?.close()
      reject(error)
    }, timeoutMs)
  })
  const work = (async () => {
    const acquired = await pool.acquire(abort.signal)
    if (abort.signal.aborted) {
      pool.release(acquired)
      throw abort.signal.reason
    }
    connection = acquired
    try {
      return await use(acquired)
    } finally {
      connection = undefined
      pool.release(acquired)
    }
  })()
  return Promise.race([work, expired]).finally(() => clearTimeout(timer))
}

async function rollback(connection: PgConnection): Promise<void> {
  if (connection.closed || connection.status === 'I') return
  // If even the rollback fails, the pool closes the connection (it is not idle).
  await connection.query('rollback', [], []).catch(() => {})
}

function queryable(run: Run): Queryable {
  const query = (strings: TemplateStringsArray, ...values: unknown[]) => {
    try {
      const { text, parameters, types } = compile(strings, values)
      return run(text, parameters, types).then((result) => result.rows)
    } catch (error) {
      return Promise.reject(error)
    }
  }
  return Object.assign(query, {
    fragment: (strings: TemplateStringsArray, ...values: unknown[]): Fragment => ({
      [FRAGMENT]: { strings: [...strings], values },
    }),
    unsafe: (text: string): Fragment => ({ [FRAGMENT]: { strings: [text], values: [] } }),
  }) as Queryable
}

function isFragment(value: unknown): value is Fragment {
  return typeof value === 'object' && value !== null && FRAGMENT in value
}

/**
 * The statement text with `$n` placeholders, its parameters and their types.
 *
 * @param strings the template's literal parts
 * @param values what goes between them: parameters or fragments
 * @returns what the protocol sends
 * @throws TypeError for a value that cannot be a parameter, or more than 65,535 of them
 */
export function compile(
  strings: readonly string[],
  values: readonly unknown[],
): { text: string; parameters: (string | null)[]; types: number[] } {
  let text = ''
  const parameters: (string | null)[] = []
  const types: number[] = []
  const append = (parts: readonly string[], inserted: readonly unknown[]) => {
    parts.forEach((part, index) => {
      text += part
      if (index >= inserted.length) return
      const value = inserted[index]
      if (isFragment(value)) {
        append(value[FRAGMENT].strings, value[FRAGMENT].values)
        return
      }
      const serialized = serializeValue(value)
      parameters.push(serialized.text)
      types.push(serialized.type)
      text += `$${parameters.length}`
    })
  }
  append(strings, values)
  if (parameters.length > MAX_PARAMETERS) {
    throw new TypeError(`A query takes at most ${MAX_PARAMETERS} parameters`)
  }
  return { text, parameters, types }
}
