/**
 * A small pool of PostgreSQL connections on postgres.js, each connection a postgres.js client of
 * its own (`max: 1`), so that one can be destroyed alone: a connection past its time budget is
 * closed, never handed to another caller. postgres.js is loaded on first use, so a function that
 * never queries never loads it (nor Node's `net`, `tls` and `crypto` it brings).
 *
 * @module
 */
import type postgres from 'postgres'
import type { SessionOptions } from './postgres_options.ts'
import { guardDeferredWrites } from './write_crash_guard.ts'

/** The postgres.js module's default export: the client factory, with `PostgresError` on it. */
export type Postgres = typeof postgres

// Per process by nature, so module-level: a module is imported once per isolate, whoever asks.
let loading: Promise<Postgres> | undefined

/**
 * Loads postgres.js once per isolate, and guards the isolate against its deferred-write crash.
 *
 * @returns the client factory
 */
export function loadPostgres(): Promise<Postgres> {
  loading ??= import('postgres').then((module) => {
    guardDeferredWrites()
    return module.default
  }, (error) => {
    loading = undefined
    throw error
  })
  return loading
}

/** Sizes and timeouts of a {@linkcode ConnectionPool}. */
export interface PoolSettings {
  /** Most connections open at once. */
  readonly max: number
  /** An idle connection is closed after this long. */
  readonly idleTimeoutMs: number
}

/**
 * The postgres.js options of one connection (`max: 1`), given what the connection reports to
 * the pool; the pool makes the client, which connects on its first query.
 */
export type ClientOptions = (session: SessionOptions) => PostgresOptions | Promise<PostgresOptions>

type PostgresOptions = postgres.Options<Record<string, postgres.PostgresType>>

/** One pooled connection, owned by one caller at a time. */
export interface Connection {
  /** Its postgres.js client, of at most one connection. */
  readonly sql: postgres.Sql
  /** True once its connection closed (either side) or was destroyed: it is never used again. */
  readonly lost: boolean
  /**
   * Destroys the connection: a statement in flight fails at once (`CONNECTION_DESTROYED`), as
   * does any later one; idempotent.
   *
   * @returns when it is destroyed
   */
  destroy(): Promise<void>
}

class PooledConnection implements Connection {
  lost = false
  discarded = false
  sql!: postgres.Sql
  #destroyed: Promise<void> | undefined

  destroy(): Promise<void> {
    this.lost = true
    this.#destroyed ??= this.sql.end({ timeout: 0 }).catch(() => {})
    return this.#destroyed
  }
}

/** Connections to one database. */
export class ConnectionPool {
  #options: ClientOptions
  #settings: PoolSettings
  #idle: PooledConnection[] = []
  #live = new Set<PooledConnection>()
  #opening = 0
  #waiting: (() => void)[] = []
  #ended = false

  /**
   * @param options the options of one connection
   * @param settings how many connections, for how long
   */
  constructor(options: ClientOptions, settings: PoolSettings) {
    this.#options = options
    this.#settings = settings
  }

  /**
   * A connection for one caller, who must {@linkcode release} it.
   *
   * @param signal gives up waiting for a connection when aborted
   * @returns an idle connection, a new one, or the next one released
   * @throws an Error coded `CONNECTION_ENDED` once the pool is ended
   * @throws the signal's reason when it is aborted while waiting
   */
  async acquire(signal?: AbortSignal): Promise<Connection> {
    while (true) {
      signal?.throwIfAborted()
      if (this.#ended) throw ended()
      const idle = this.#idle.pop()
      if (idle !== undefined) {
        // Closed while idle (its idle timeout, or the server): a new one instead.
        if (!idle.lost) return idle
        this.#discard(idle)
        continue
      }
      if (this.#live.size + this.#opening < this.#settings.max) return await this.#connection()
      await this.#wait(signal)
    }
  }

  /**
   * Gives a connection back: to the next waiting caller, or to the idle list. One that was lost,
   * or that its caller says must not be used again, is destroyed.
   *
   * @param connection what {@linkcode acquire} gave
   * @param reusable false when its state is unknown (a failure that was not a statement's)
   */
  release(connection: Connection, reusable = true): void {
    const pooled = connection as PooledConnection
    if (pooled.discarded) return
    if (!reusable || pooled.lost || this.#ended) {
      this.#discard(pooled)
      return
    }
    this.#idle.push(pooled)
    this.#wakeOne()
  }

  /**
   * Destroys a connection at once, whoever owns it, and frees its place for a waiting caller.
   *
   * @param connection what {@linkcode acquire} gave
   */
  discard(connection: Connection): void {
    this.#discard(connection as PooledConnection)
  }

  /**
   * Destroys every connection; callers waiting get `CONNECTION_ENDED`. Idempotent.
   *
   * @returns when every connection is destroyed
   */
  async end(): Promise<void> {
    this.#ended = true
    const live = [...this.#live]
    this.#idle = []
    for (const connection of live) this.#discard(connection)
    for (const wake of this.#waiting.splice(0)) wake()
    await Promise.all(live.map((connection) => connection.destroy()))
  }

  async #connection(): Promise<PooledConnection> {
    this.#opening++
    const connection = new PooledConnection()
    try {
      const postgres = await loadPostgres()
      connection.sql = postgres(
        await this.#options({
          onclose: () => {
            connection.lost = true
          },
          idleTimeoutSeconds: this.#settings.idleTimeoutMs / 1000,
        }),
      )
    } catch (error) {
      this.#wakeOne()
      throw error
    } finally {
      this.#opening--
    }
    this.#live.add(connection)
    return connection
  }

  #discard(connection: PooledConnection): void {
    if (connection.discarded) return
    connection.discarded = true
    this.#live.delete(connection)
    this.#idle = this.#idle.filter((idle) => idle !== connection)
    connection.destroy()
    this.#wakeOne()
  }

  // Until a connection is released or discarded; a caller that gives up leaves the queue, so a
  // released connection goes to one still waiting.
  #wait(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        signal?.removeEventListener('abort', leave)
        resolve()
      }
      const leave = () => {
        this.#waiting = this.#waiting.filter((waiting) => waiting !== wake)
        resolve()
      }
      this.#waiting.push(wake)
      signal?.addEventListener('abort', leave, { once: true })
    })
  }

  #wakeOne(): void {
    this.#waiting.shift()?.()
  }
}

function ended(): Error {
  return Object.assign(new Error('The database client was ended'), { code: 'CONNECTION_ENDED' })
}
