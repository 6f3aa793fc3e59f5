/**
 * A small pool of connections: opened on demand up to a maximum, handed out one caller at a
 * time, closed after a while idle. A connection that closes (either side) leaves the pool at
 * once, so the next caller gets a fresh one instead of a dead one.
 *
 * @module
 */
import { PgConnection } from './pg_connection.ts'
import { DatabaseConnectionError } from './pg_errors.ts'
import type { ConnectionOptions } from './pg_options.ts'

/** Sizes and timeouts of a {@linkcode PgPool}. */
export interface PoolSettings {
  /** Most connections open at once. */
  readonly max: number
  /** An idle connection is closed after this long. */
  readonly idleTimeoutMs: number
}

/** Connections to one database. */
export class PgPool {
  #options: ConnectionOptions
  #settings: PoolSettings
  #idle: PgConnection[] = []
  #idleTimers = new Map<PgConnection, ReturnType<typeof setTimeout>>()
  #open = new Set<PgConnection>()
  #opening = 0
  #waiting: (() => void)[] = []
  #ended = false

  /**
   * @param options where to connect
   * @param settings how many connections, for how long
   */
  constructor(options: ConnectionOptions, settings: PoolSettings) {
    this.#options = options
    this.#settings = settings
  }

  /**
   * A connection for one caller, who must {@linkcode release} it.
   *
   * @param signal gives up waiting for a connection to be released when aborted (a connection
   *   being opened for this caller is still handed over: the caller releases it)
   * @returns an idle connection, a new one, or the next one released
   * @throws {DatabaseConnectionError} `CONNECTION_ENDED` once the pool is ended; what opening a
   *   connection throws
   * @throws the signal's reason when it is aborted while waiting
   */
  async acquire(signal?: AbortSignal): Promise<PgConnection> {
    while (true) {
      signal?.throwIfAborted()
      if (this.#ended) throw ended()
      const idle = this.#idle.pop()
      if (idle !== undefined) {
        clearTimeout(this.#idleTimers.get(idle))
        this.#idleTimers.delete(idle)
        if (!idle.closed) return idle
        continue
      }
      if (this.#open.size + this.#opening < this.#settings.max) {
        const connection = await this.#connect()
        // Closed while it was being handed over (a FATAL right after ReadyForQuery): its slot
        // is free again, and the caller hears of a closed connection rather than a new attempt
        // per turn against a server that does it every time.
        if (connection.closed) {
          throw new DatabaseConnectionError('CONNECTION_CLOSED', 'The server closed the connection')
        }
        return connection
      }
      await this.#wait(signal)
    }
  }

  /**
   * Gives a connection back: to the next waiting caller, or to the idle list. One still inside a
   * transaction (its caller failed half-way) is closed rather than handed on.
   *
   * @param connection what {@linkcode acquire} gave
   */
  release(connection: PgConnection): void {
    // Closing takes it out of the pool at once (`onClose`, set in `#connect`).
    if (this.#ended || connection.status !== 'I') connection.close()
    if (!connection.closed) {
      this.#idle.push(connection)
      const timer = setTimeout(() => connection.close(), this.#settings.idleTimeoutMs)
      this.#idleTimers.set(connection, timer)
    }
    this.#wakeOne()
  }

  /** Closes every connection; callers waiting get `CONNECTION_ENDED`. Idempotent. */
  end(): void {
    this.#ended = true
    for (const connection of [...this.#open]) connection.close()
    for (const wake of this.#waiting.splice(0)) wake()
  }

  async #connect(): Promise<PgConnection> {
    this.#opening++
    let connection: PgConnection
    try {
      connection = await PgConnection.open(this.#options)
    } catch (error) {
      // The slot is free again: a waiting caller may try in turn.
      this.#wakeOne()
      throw error
    } finally {
      this.#opening--
    }
    if (this.#ended) {
      connection.close()
      throw ended()
    }
    this.#open.add(connection)
    // Runs at once when the connection closed before this line: the slot is never lost.
    connection.onClose = () => {
      this.#open.delete(connection)
      this.#idle = this.#idle.filter((c) => c !== connection)
      clearTimeout(this.#idleTimers.get(connection))
      this.#idleTimers.delete(connection)
      this.#wakeOne()
    }
    return connection
  }

  // Until a connection is released or closes; a caller that gives up leaves the queue, so a
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

function ended(): DatabaseConnectionError {
  return new DatabaseConnectionError('CONNECTION_ENDED', 'The database client was ended')
}
