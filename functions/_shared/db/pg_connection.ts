/**
 * One connection to PostgreSQL (or to a pooler in front of it) over Deno's own sockets: TLS when
 * asked, SCRAM-SHA-256 or cleartext authentication, then one query at a time in the extended
 * protocol with unnamed statements, which a transaction pooler accepts. A connection the server
 * closes is noticed while idle, not only at its next query.
 *
 * @module
 */
import type { ConnectionOptions } from './pg_options.ts'
import { DatabaseConnectionError, PostgresError } from './pg_errors.ts'
import {
  type BackendMessage,
  backendMessages,
  errorFields,
  extendedQuery,
  MessageReader,
  passwordMessage,
  saslInitialResponse,
  sslRequest,
  startupMessage,
  terminateMessage,
} from './pg_protocol.ts'
import { SCRAM_MECHANISM, scramExchange } from './pg_scram.ts'
import { parseValue } from './pg_types.ts'

/** A column of a result: its name and type OID. */
interface Column {
  readonly name: string
  readonly type: number
}

/** What a query returned: its rows and the command tag (`SELECT 1`, `COMMIT`, `ROLLBACK`...). */
export interface QueryResult {
  readonly rows: Record<string, unknown>[]
  readonly command: string
}

/** The transaction status of the last ReadyForQuery: idle, in a transaction, in a failed one. */
export type TransactionStatus = 'I' | 'T' | 'E'

// Backend message types.
const AUTHENTICATION = 0x52 // R
const BACKEND_KEY_DATA = 0x4b // K
const BIND_COMPLETE = 0x32 // 2
const COMMAND_COMPLETE = 0x43 // C
const DATA_ROW = 0x44 // D
const EMPTY_QUERY = 0x49 // I
const ERROR_RESPONSE = 0x45 // E
const NO_DATA = 0x6e // n
const NOTICE_RESPONSE = 0x4e // N
const NOTIFICATION = 0x41 // A
const PARAMETER_STATUS = 0x53 // S
const PARSE_COMPLETE = 0x31 // 1
const READY_FOR_QUERY = 0x5a // Z
const ROW_DESCRIPTION = 0x54 // T

/** A query in flight: what its messages build up, and how it ends. */
interface Pending {
  columns: Column[]
  rows: Record<string, unknown>[]
  command: string
  error: PostgresError | null
  resolve(result: QueryResult): void
  reject(error: Error): void
}

/** An open connection, ready for queries. */
export class PgConnection {
  #socket: Deno.Conn
  #messages: AsyncGenerator<BackendMessage>
  #pending: Pending | null = null
  #queue: Promise<unknown> = Promise.resolve()
  #closed = false
  #status: TransactionStatus = 'I'
  #onClose: () => void = () => {}

  private constructor(socket: Deno.Conn, messages: AsyncGenerator<BackendMessage>) {
    this.#socket = socket
    this.#messages = messages
  }

  /**
   * Connects, negotiates TLS as `options.tls` says, authenticates and waits for the server to be
   * ready, all within `options.connectTimeoutMs`.
   *
   * @param options where and as whom
   * @returns the ready connection
   * @throws {DatabaseConnectionError} when it cannot connect in time or the server misbehaves
   * @throws {PostgresError} when the server refuses (wrong password, unknown database, too many
   *   connections, starting up)
   */
  static async open(options: ConnectionOptions): Promise<PgConnection> {
    let socket: Deno.Conn | null = null
    let timedOut = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true
        if (socket !== null) closeQuietly(socket)
        reject(
          new DatabaseConnectionError(
            'CONNECT_TIMEOUT',
            `PostgreSQL did not accept the connection within ${options.connectTimeoutMs} ms`,
          ),
        )
      }, options.connectTimeoutMs)
    })
    const opening = (async () => {
      const tcp = await connectTcp(options)
      socket = tcp
      if (timedOut) throw timeoutAfter(tcp)
      tcp.setNoDelay(true)
      // The socket being handshaken is the one a timeout must close.
      const secured = await negotiateTls(tcp, options, (tls) => socket = tls)
      socket = secured
      if (timedOut) throw timeoutAfter(secured)
      const messages = backendMessages((buffer) => secured.read(buffer))
      const connection = new PgConnection(secured, messages)
      await connection.#startup(options, secured !== tcp)
      return connection
    })()
    try {
      return await Promise.race([opening, deadline])
    } catch (error) {
      opening.then((connection) => connection.close(), () => {})
      throw asConnectionError(error)
    } finally {
      clearTimeout(timer)
    }
  }

  /** Whether the connection is closed (by either side); a closed one never opens again. */
  get closed(): boolean {
    return this.#closed
  }

  /** The transaction status after the last query. */
  get status(): TransactionStatus {
    return this.#status
  }

  /**
   * Runs one statement. Queries on one connection run one after the other.
   *
   * @param text the SQL with `$1`... placeholders
   * @param parameters their values in text format
   * @param types their type OIDs (0: inferred)
   * @returns the rows, as objects keyed by column name, and the command tag
   * @throws {PostgresError} when PostgreSQL refuses the statement
   * @throws {DatabaseConnectionError} `CONNECTION_CLOSED` when the connection is or gets closed
   */
  query(
    text: string,
    parameters: readonly (string | null)[],
    types: readonly number[],
  ): Promise<QueryResult> {
    const run = this.#queue.then(() => this.#run(text, parameters, types))
    this.#queue = run.catch(() => {})
    return run
  }

  /** Called once when the connection closes, whoever closed it; at once if it already has. */
  set onClose(callback: () => void) {
    this.#onClose = callback
    if (this.#closed) callback()
  }

  /**
   * Closes the connection: closed from now on for every caller, then, best effort, a Terminate
   * so the server ends the session without logging a lost client. Idempotent.
   */
  close(): void {
    if (this.#closed) return
    this.#markClosed()
    const socket = this.#socket
    socket.write(terminateMessage()).catch(() => {}).finally(() => closeQuietly(socket))
  }

  #shut(reason?: unknown): void {
    closeQuietly(this.#socket)
    this.#markClosed(reason)
  }

  #markClosed(reason?: unknown): void {
    if (this.#closed) return
    this.#closed = true
    const pending = this.#pending
    this.#pending = null
    pending?.reject(
      new DatabaseConnectionError('CONNECTION_CLOSED', 'The database connection closed', reason),
    )
    this.#onClose()
  }

  async #run(
    text: string,
    parameters: readonly (string | null)[],
    types: readonly number[],
  ): Promise<QueryResult> {
    if (this.#closed) {
      throw new DatabaseConnectionError('CONNECTION_CLOSED', 'The database connection closed')
    }
    const message = extendedQuery(text, parameters, types)
    const result = new Promise<QueryResult>((resolve, reject) => {
      this.#pending = { columns: [], rows: [], command: '', error: null, resolve, reject }
    })
    try {
      await writeAll(this.#socket, message)
    } catch (error) {
      this.#shut(error)
    }
    return await result
  }

  async #startup(options: ConnectionOptions, encrypted: boolean): Promise<void> {
    await writeAll(
      this.#socket,
      startupMessage({
        user: options.user,
        database: options.database,
        application_name: options.applicationName,
        client_encoding: 'UTF8',
      }),
    )
    let scram: ReturnType<typeof scramExchange> | null = null
    let verified = false
    while (true) {
      const message = await this.#next()
      if (message.type === ERROR_RESPONSE) throw new PostgresError(errorFields(message.body))
      if (message.type === READY_FOR_QUERY) break
      if (message.type !== AUTHENTICATION) continue // ParameterStatus, BackendKeyData, notices
      const reader = new MessageReader(message.body)
      const code = reader.int32()
      if (code === 0) {
        // AuthenticationOk. Once SCRAM has begun, only after the server proved it knows the
        // password: a server (or something in between) that skips that proof accepts anyone.
        if (scram !== null && !verified) throw protocol('SCRAM ended without the server proof')
        continue
      }
      if (code === 3) {
        // A cleartext password on an unencrypted connection is readable by anyone in between.
        if (!encrypted) throw unsupported('a cleartext password on an unencrypted connection')
        await writeAll(this.#socket, passwordMessage(options.password, true))
      } else if (code === 10) {
        const mechanisms: string[] = []
        for (let name = reader.cstring(); name !== ''; name = reader.cstring()) {
          mechanisms.push(name)
        }
        if (!mechanisms.includes(SCRAM_MECHANISM)) {
          throw unsupported(`SASL mechanisms ${mechanisms.join(', ')}`)
        }
        scram = scramExchange(options.password)
        await writeAll(this.#socket, saslInitialResponse(SCRAM_MECHANISM, scram.clientFirst))
      } else if (code === 11 && scram !== null) {
        const response = await scramStep(() => scram!.respond(reader.rest()))
        await writeAll(this.#socket, passwordMessage(response, false))
      } else if (code === 12 && scram !== null) {
        await scramStep(() => scram!.verify(reader.rest()))
        verified = true
      } else {
        throw unsupported(code === 5 ? 'md5 passwords' : `authentication method ${code}`)
      }
    }
    this.#pump()
  }

  async #next(): Promise<BackendMessage> {
    const { value, done } = await this.#messages.next()
    if (done) {
      throw new DatabaseConnectionError('CONNECTION_CLOSED', 'The server closed the connection')
    }
    return value
  }

  // Reads for as long as the connection lives, so a close or a FATAL error while idle is seen.
  async #pump(): Promise<void> {
    try {
      for await (const message of this.#messages) this.#dispatch(message)
      this.#shut()
    } catch (error) {
      this.#shut(error)
    }
  }

  #dispatch(message: BackendMessage): void {
    const pending = this.#pending
    switch (message.type) {
      case NOTICE_RESPONSE:
      case NOTIFICATION:
      case PARAMETER_STATUS:
      case BACKEND_KEY_DATA:
        return
      case ERROR_RESPONSE: {
        const error = new PostgresError(errorFields(message.body))
        // A FATAL error ends the session (an administrator's shutdown, an idle timeout, a pooler
        // letting go): the server closes next, and a query in flight met a closed connection,
        // which `withRecovery` may repeat when that is safe.
        if (pending === null || error.severity === 'FATAL' || error.severity === 'PANIC') {
          this.#shut(error)
          return
        }
        pending.error = error
        return
      }
    }
    if (pending === null) throw protocol(`unexpected message ${String.fromCharCode(message.type)}`)
    const reader = new MessageReader(message.body)
    switch (message.type) {
      case PARSE_COMPLETE:
      case BIND_COMPLETE:
      case NO_DATA:
      case EMPTY_QUERY:
        return
      case ROW_DESCRIPTION: {
        const count = reader.int16()
        pending.columns = []
        for (let i = 0; i < count; i++) {
          const name = reader.cstring()
          reader.int32() // table OID
          reader.int16() // column number
          const type = reader.int32()
          reader.int16() // type size
          reader.int32() // type modifier
          reader.int16() // format: text
          pending.columns.push({ name, type })
        }
        return
      }
      case DATA_ROW: {
        const count = reader.int16()
        const row: Record<string, unknown> = {}
        for (let i = 0; i < count; i++) {
          const length = reader.int32()
          const column = pending.columns[i]
          if (column === undefined) throw protocol('a row with more values than columns')
          row[column.name] = parseValue(column.type, length < 0 ? null : reader.text(length))
        }
        pending.rows.push(row)
        return
      }
      case COMMAND_COMPLETE:
        pending.command = reader.cstring()
        return
      case READY_FOR_QUERY: {
        const status = String.fromCharCode(reader.byte())
        this.#status = status === 'T' || status === 'E' ? status : 'I'
        this.#pending = null
        if (pending.error !== null) pending.reject(pending.error)
        else pending.resolve({ rows: pending.rows, command: pending.command })
        return
      }
      default:
        throw protocol(`unexpected message ${String.fromCharCode(message.type)}`)
    }
  }
}

async function connectTcp(options: ConnectionOptions): Promise<Deno.TcpConn> {
  try {
    return await Deno.connect({ hostname: options.hostname, port: options.port })
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionRefused) {
      throw new DatabaseConnectionError('ECONNREFUSED', 'PostgreSQL refused the connection', error)
    }
    throw new DatabaseConnectionError('CONNECTION_CLOSED', 'PostgreSQL is unreachable', error)
  }
}

async function negotiateTls(
  socket: Deno.TcpConn,
  options: ConnectionOptions,
  handshaking: (tls: Deno.Conn) => void,
): Promise<Deno.Conn> {
  if (options.tls === 'disable') return socket
  await writeAll(socket, sslRequest())
  const answer = new Uint8Array(1)
  if ((await socket.read(answer)) !== 1) {
    throw new DatabaseConnectionError('CONNECTION_CLOSED', 'The server closed the connection')
  }
  if (answer[0] === 0x4e) { // N: no TLS here
    if (options.tls === 'prefer') return socket
    throw new DatabaseConnectionError(
      'TLS_UNAVAILABLE',
      'sslmode asks for TLS and the server does not offer it',
    )
  }
  if (answer[0] !== 0x53) throw protocol('unexpected answer to the TLS request')
  let caCerts: string[] | undefined
  if (options.rootCertificateFile !== undefined) {
    try {
      caCerts = [await Deno.readTextFile(options.rootCertificateFile)]
    } catch (error) {
      throw new DatabaseConnectionError('TLS_FAILED', 'sslrootcert cannot be read', error)
    }
  }
  try {
    const tls = await Deno.startTls(socket, {
      hostname: options.hostname,
      ...(caCerts === undefined ? {} : { caCerts }),
    })
    handshaking(tls)
    await tls.handshake()
    return tls
  } catch (error) {
    // Typically a certificate that does not verify: never fall back to plaintext.
    throw new DatabaseConnectionError(
      'TLS_FAILED',
      `TLS with PostgreSQL failed: ${(error as Error).message}`,
      error,
    )
  }
}

function closeQuietly(socket: Deno.Conn): void {
  try {
    socket.close()
  } catch { /* already closed */ }
}

function timeoutAfter(socket: Deno.Conn): DatabaseConnectionError {
  closeQuietly(socket)
  return new DatabaseConnectionError('CONNECT_TIMEOUT', 'The connect timeout passed')
}

async function writeAll(socket: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0
  while (written < bytes.length) written += await socket.write(bytes.subarray(written))
}

function asConnectionError(error: unknown): unknown {
  if (error instanceof PostgresError || error instanceof DatabaseConnectionError) return error
  if (error instanceof Deno.errors.InvalidData || error instanceof TypeError) {
    return new DatabaseConnectionError('PROTOCOL_VIOLATION', (error as Error).message, error)
  }
  return new DatabaseConnectionError(
    'CONNECTION_CLOSED',
    `The database connection failed: ${(error as Error)?.name ?? 'error'}`,
    error,
  )
}

// A SCRAM message that does not check out is the server misbehaving (or not being the server).
async function scramStep<T>(step: () => T | Promise<T>): Promise<T> {
  try {
    return await step()
  } catch (error) {
    throw new DatabaseConnectionError('PROTOCOL_VIOLATION', (error as Error).message, error)
  }
}

function unsupported(what: string): DatabaseConnectionError {
  return new DatabaseConnectionError(
    'AUTHENTICATION_UNSUPPORTED',
    `The server asks for ${what}; this client supports scram-sha-256 and password`,
  )
}

function protocol(what: string): DatabaseConnectionError {
  return new DatabaseConnectionError('PROTOCOL_VIOLATION', `PostgreSQL protocol: ${what}`)
}
