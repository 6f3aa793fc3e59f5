/**
 * Queries as tagged templates: every `${value}` is a parameter, never SQL text, so a value cannot
 * change the statement. `sql.fragment` builds a piece of a query to put inside another, and
 * `sql.unsafe` marks SQL text the code itself wrote (column lists). Statements run on postgres.js
 * connections of a {@linkcode ConnectionPool}; a transaction runs on one. Every query and
 * transaction has a time budget, the wait for a connection and connecting included: past it the
 * caller gets a `DatabaseTimeoutError` at once, and the connection is destroyed.
 *
 * @module
 */
import type postgres from 'postgres'
import { DEFAULT_DB_TIMEOUT_MS } from '../core/config.ts'
import { DatabaseTimeoutError, isDatabaseUnavailable } from './database_errors.ts'
import { type RawResult, rowsOf } from './postgres_rows.ts'
import {
  type ClientOptions,
  type Connection,
  ConnectionPool,
  loadPostgres,
  type PoolSettings,
  type Postgres,
} from './postgres_pool.ts'

const FRAGMENT: unique symbol = Symbol('sql fragment')

/** A piece of a query, to be placed inside another template. */
export interface Fragment {
  readonly [FRAGMENT]: { readonly strings: readonly string[]; readonly values: readonly unknown[] }
}

/**
 * A result row: column name → value, as postgres.js reads it: `int8` and `numeric` stay strings,
 * `int2`, `int4`, `float4`, `float8` are numbers, `json` and `jsonb` are parsed, `date` and the
 * timestamps are `Date`s, `bool` a boolean, `bytea` bytes; anything else is text.
 */
export type Row = Record<string, unknown>

/** What runs queries: the client, or a transaction. */
export interface Queryable {
  /**
   * Runs the statement; `${value}`s are sent as parameters.
   *
   * @returns the rows
   * @throws {postgres.PostgresError} when PostgreSQL refuses it (`code` is its SQLSTATE)
   * @throws an Error with a connection `code` (`CONNECTION_CLOSED`, `ECONNREFUSED`...) when it
   *   cannot be answered
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
   * it throws or when a statement of it failed (even one `work` caught).
   *
   * @param work the transaction's queries, on `tx`
   * @returns what `work` returns
   * @throws what `work` threw, or the statement error PostgreSQL rolled the transaction back for
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
   * its connection is destroyed, never pooled again (what it was doing is unknown). Default
   * `DEFAULT_DB_TIMEOUT_MS`.
   */
  readonly timeoutMs?: number
}

/** postgres.js's limit: a parameter count below 65,534. */
const MAX_PARAMETERS = 65_533

type Run = (text: string, parameters: unknown[]) => Promise<Row[]>

/**
 * Creates a client with its own pool. Nothing loads or connects until the first query.
 *
 * @param options the postgres.js options of one connection
 * @param settings the pool's size and idle timeout, the time budget of a query or transaction
 * @returns the client
 */
export function createSql(options: ClientOptions, settings: SqlSettings): Sql {
  const pool = new ConnectionPool(options, settings)
  const timeoutMs = settings.timeoutMs ?? DEFAULT_DB_TIMEOUT_MS
  const sql = queryable((text, parameters) =>
    withConnection(pool, timeoutMs, (connection) => statement(connection.sql, text, parameters))
  ) as Sql
  sql.begin = <T>(work: (tx: Queryable) => Promise<T>): Promise<T> =>
    withConnection(pool, timeoutMs, (connection) => transaction(connection, work))
  sql.end = () => pool.end()
  return Object.defineProperty(sql, 'timeoutMs', { value: timeoutMs, enumerable: true })
}

/**
 * Runs `use` on a pooled connection within `timeoutMs`, the wait for the connection included.
 * Past it the caller gets a {@linkcode DatabaseTimeoutError} at once, and the connection is
 * destroyed, never handed to another caller: its state is unknown (a statement may still run, a
 * transaction may be open), and a server that stopped answering would keep it forever. A
 * connection that failed, or closed, is destroyed too.
 */
function withConnection<T>(
  pool: ConnectionPool,
  timeoutMs: number,
  use: (connection: Connection) => Promise<T>,
): Promise<T> {
  const abort = new AbortController()
  let connection: Connection | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new DatabaseTimeoutError(timeoutMs)
      abort.abort(error)
      // Its statement in flight fails at once, and its place in the pool is free again.
      if (connection !== undefined) pool.discard(connection)
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
      const result = await use(acquired)
      pool.release(acquired)
      return result
    } catch (error) {
      // A connection that failed is destroyed; a statement's error, or the work's own, leaves it
      // as it was (a transaction rolled back).
      pool.release(acquired, !isDatabaseUnavailable(error))
      throw error
    } finally {
      connection = undefined
    }
  })()
  return Promise.race([work, expired]).finally(() => clearTimeout(timer))
}

/**
 * Runs `work` in a postgres.js transaction, which keeps it on its connection. A connection that
 * closed under it is destroyed before postgres.js sends its rollback, so nothing is written to the
 * closed connection (postgres.js would throw from a timer, where nothing catches it), and no
 * statement of `work` runs after the close: each fails with the connection's error.
 */
async function transaction<T>(
  connection: Connection,
  work: (tx: Queryable) => Promise<T>,
): Promise<T> {
  const postgres = await loadPostgres()
  let open = true
  let loss: unknown
  const lost = async (error: unknown): Promise<never> => {
    loss ??= error
    await connection.destroy()
    throw loss
  }
  try {
    return await connection.sql.begin(async (pgTx) => {
      const tx = queryable(async (text, parameters) => {
        if (!open) throw new Error('The transaction is over')
        if (connection.lost) return await lost(connectionClosed())
        try {
          return await statement(pgTx, text, parameters)
        } catch (error) {
          if (connection.lost || !isStatementError(postgres, error)) return await lost(error)
          throw error
        }
      })
      try {
        const result = await work(tx)
        if (connection.lost) await lost(connectionClosed())
        return result
      } catch (error) {
        if (connection.lost) await lost(error)
        throw error
      } finally {
        open = false
      }
    }) as T
  } catch (error) {
    throw loss ?? error
  }
}

async function statement(
  target: postgres.Sql | postgres.TransactionSql,
  text: string,
  parameters: unknown[],
): Promise<Row[]> {
  const result = await target.unsafe(text, parameters as postgres.ParameterOrJSON<never>[]).raw()
  return rowsOf(result as unknown as RawResult)
}

/**
 * Whether `error` is a statement's own failure (PostgreSQL refused it, the connection is fine),
 * not the connection's: a FATAL error ends the session, and a client error may leave the
 * connection in a state nobody knows.
 */
function isStatementError(postgres: Postgres, error: unknown): boolean {
  if (!(error instanceof postgres.PostgresError)) return false
  const severity = (error as { severity?: string }).severity
  return severity !== 'FATAL' && severity !== 'PANIC'
}

function connectionClosed(): Error {
  return Object.assign(new Error('The database connection closed'), { code: 'CONNECTION_CLOSED' })
}

function queryable(run: Run): Queryable {
  const query = (strings: TemplateStringsArray, ...values: unknown[]) => {
    try {
      const { text, parameters } = compile(strings, values)
      return run(text, parameters)
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
 * The statement text with `$n` placeholders, and its parameters.
 *
 * @param strings the template's literal parts
 * @param values what goes between them: parameters or fragments
 * @returns what postgres.js sends
 * @throws TypeError for more than 65,533 parameters
 */
export function compile(
  strings: readonly string[],
  values: readonly unknown[],
): { text: string; parameters: unknown[] } {
  let text = ''
  const parameters: unknown[] = []
  const append = (parts: readonly string[], inserted: readonly unknown[]) => {
    parts.forEach((part, index) => {
      text += part
      if (index >= inserted.length) return
      const value = inserted[index]
      if (isFragment(value)) {
        append(value[FRAGMENT].strings, value[FRAGMENT].values)
        return
      }
      parameters.push(value)
      text += `$${parameters.length}`
    })
  }
  append(strings, values)
  if (parameters.length > MAX_PARAMETERS) {
    throw new TypeError(`A query takes at most ${MAX_PARAMETERS} parameters`)
  }
  return { text, parameters }
}
