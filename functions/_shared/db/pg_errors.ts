/**
 * The two ways a query fails: PostgreSQL refused it (an ErrorResponse, with its SQLSTATE), or the
 * connection did not get it answered. Neither message ever carries the connection's password.
 *
 * @module
 */

/** An ErrorResponse from the server. */
export class PostgresError extends Error {
  override name = 'PostgresError'
  /** The SQLSTATE, e.g. `23505` or `57P01`. */
  readonly code: string
  /** `ERROR`, `FATAL` or `PANIC`. */
  readonly severity: string
  readonly detail?: string
  readonly hint?: string

  /**
   * @param fields the ErrorResponse's fields by their one-letter codes
   */
  constructor(fields: Readonly<Record<string, string>>) {
    super(fields.M ?? 'PostgreSQL error')
    this.code = fields.C ?? 'XX000'
    this.severity = fields.V ?? fields.S ?? 'ERROR'
    if (fields.D !== undefined) this.detail = fields.D
    if (fields.H !== undefined) this.hint = fields.H
  }
}

/**
 * What went wrong with a connection:
 * - `CONNECT_TIMEOUT`: not ready within the connect timeout;
 * - `ECONNREFUSED`: nothing listens there;
 * - `CONNECTION_CLOSED`: the server or the network closed it, before or during a query;
 * - `CONNECTION_ENDED`: the client was ended by its owner;
 * - `PROTOCOL_VIOLATION`: the server said something a PostgreSQL server would not;
 * - `AUTHENTICATION_UNSUPPORTED` / `TLS_UNAVAILABLE`: the server asks for what this client will
 *   not do (md5 or Kerberos; TLS asked for and not offered);
 * - `TLS_FAILED`: the TLS handshake failed, typically a certificate that does not verify.
 */
export type ConnectionErrorCode =
  | 'CONNECT_TIMEOUT'
  | 'ECONNREFUSED'
  | 'CONNECTION_CLOSED'
  | 'CONNECTION_ENDED'
  | 'PROTOCOL_VIOLATION'
  | 'AUTHENTICATION_UNSUPPORTED'
  | 'TLS_UNAVAILABLE'
  | 'TLS_FAILED'

/** A connection failure; `code` says which. */
export class DatabaseConnectionError extends Error {
  override name = 'DatabaseConnectionError'

  /**
   * @param code which failure
   * @param message what happened, without credentials
   * @param cause the underlying error, if any
   */
  constructor(readonly code: ConnectionErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause })
  }
}
