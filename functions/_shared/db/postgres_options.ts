/**
 * A `postgres://` URL read into postgres.js options, with libpq's meaning for the query settings
 * it understands (`sslmode`, `sslrootcert`, `connect_timeout`, `application_name`); any other
 * query setting is left out rather than sent to the server as a run-time parameter, which
 * PostgreSQL would refuse the connection for.
 *
 * @module
 */
import type postgres from 'postgres'

/**
 * How TLS is used, as libpq's `sslmode` says:
 * - `disable` (the default when the URL names none): never;
 * - `allow`, `prefer`: when the server offers it, the certificate not verified;
 * - `require`: always, the certificate not verified (verified against `sslrootcert` when the URL
 *   names one, as libpq does);
 * - `verify-ca`: always, the certificate verified against `sslrootcert` (else the system's roots);
 * - `verify-full`: the same, and the certificate must name the host.
 */
export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full'

const SSL_MODES: readonly SslMode[] = [
  'disable',
  'allow',
  'prefer',
  'require',
  'verify-ca',
  'verify-full',
]

/** Where and as whom to connect, read from a URL; the password is never in a message. */
export interface ConnectionSettings {
  readonly host: string
  readonly port: number
  readonly user: string
  readonly password: string
  readonly database: string
  readonly applicationName: string
  readonly sslMode: SslMode
  /** The PEM file named by `sslrootcert`, read when the first connection opens. */
  readonly rootCertificateFile?: string
  readonly connectTimeoutSeconds: number
}

/**
 * Reads a `postgres://` or `postgresql://` URL.
 *
 * @param url the URL (user and password percent-encoded, as in Supabase's connection strings)
 * @param defaults what the URL does not say: the application name and the connect timeout
 * @returns the settings
 * @throws TypeError naming the part that is wrong; the message never contains the URL
 */
export function connectionSettings(
  url: string,
  defaults: { applicationName: string; connectTimeoutSeconds: number },
): ConnectionSettings {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new TypeError('is not a valid URL')
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new TypeError('must be a postgres:// URL')
  }
  if (parsed.hostname === '') throw new TypeError('names no host')
  const query = parsed.searchParams
  const sslMode = query.get('sslmode') ?? 'disable'
  if (!SSL_MODES.includes(sslMode as SslMode)) throw new TypeError('has an unknown sslmode')
  const timeout = query.get('connect_timeout')
  const connectTimeoutSeconds = timeout === null ? defaults.connectTimeoutSeconds : Number(timeout)
  if (!Number.isFinite(connectTimeoutSeconds) || connectTimeoutSeconds <= 0) {
    throw new TypeError('has an invalid connect_timeout')
  }
  const user = decode(parsed.username, 'user')
  const database = decode(parsed.pathname.slice(1), 'database name')
  const rootCertificateFile = query.get('sslrootcert') ?? undefined
  return {
    // IPv6 literals come bracketed from URL; a socket wants them bare.
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? 5432 : Number(parsed.port),
    user: user === '' ? 'postgres' : user,
    password: decode(parsed.password, 'password'),
    database: database === '' ? (user === '' ? 'postgres' : user) : database,
    applicationName: query.get('application_name') ?? defaults.applicationName,
    sslMode: sslMode as SslMode,
    ...(rootCertificateFile === undefined ? {} : { rootCertificateFile }),
    connectTimeoutSeconds,
  }
}

/** What postgres.js's `ssl` option takes. */
export type SslOption = false | 'prefer' | 'require' | Record<string, unknown>

/**
 * The `ssl` option for postgres.js: `false`, `prefer` and `require` as postgres.js has them (TLS
 * without verification), or the options of a verified handshake (Node's `tls.connect`).
 *
 * @param settings the connection settings
 * @param readFile reads `sslrootcert` (the file is read when this is called)
 * @returns the option
 * @throws what reading `sslrootcert` throws
 */
export async function sslOption(
  settings: ConnectionSettings,
  readFile: (path: string) => Promise<string> = Deno.readTextFile,
): Promise<SslOption> {
  const { sslMode, rootCertificateFile } = settings
  if (sslMode === 'disable') return false
  if (sslMode === 'allow' || sslMode === 'prefer') return 'prefer'
  if (sslMode === 'require' && rootCertificateFile === undefined) return 'require'
  const ca = rootCertificateFile === undefined ? {} : { ca: [await readFile(rootCertificateFile)] }
  // Whether the certificate must name the host: libpq's verify-full, not verify-ca or require.
  // The host is the URL's: postgres.js names none for an IP address, and Node's TLS then checks
  // the certificate against `localhost`.
  const names = sslMode === 'verify-full'
    ? { host: settings.host }
    : { checkServerIdentity: () => undefined }
  return { rejectUnauthorized: true, ...ca, ...names }
}

/** The options of one edge-auth connection, whatever the client: what postgres.js is told. */
export interface SessionOptions {
  /** Called when the connection closes, whoever closed it. */
  readonly onclose: () => void
  /** Seconds an idle connection stays open. */
  readonly idleTimeoutSeconds: number
}

/**
 * postgres.js options for one connection to the database of `settings`.
 *
 * Unnamed statements only (`prepare: false`: a transaction pooler has no prepared statements), no
 * type lookup per connection (its failure was awaited by nobody), notices dropped, `undefined`
 * sent as NULL, column names and values as PostgreSQL gives them, and a reconnection after a
 * failure at once (a connection that failed is not used again anyway).
 *
 * @param settings where and as whom
 * @param ssl the TLS option ({@linkcode sslOption})
 * @param session what the connection reports to its owner
 * @returns the options
 */
export function postgresOptions(
  settings: ConnectionSettings,
  ssl: SslOption,
  session: SessionOptions,
): postgres.Options<Record<string, postgres.PostgresType>> {
  return {
    // Arrays: postgres.js splits a host string at colons, which an IPv6 literal has.
    host: [settings.host] as unknown as string,
    port: [settings.port] as unknown as number,
    user: settings.user,
    password: settings.password,
    database: settings.database,
    ssl,
    connect_timeout: settings.connectTimeoutSeconds,
    connection: { application_name: settings.applicationName },
    ...CONNECTION_RULES,
    idle_timeout: session.idleTimeoutSeconds,
    onclose: session.onclose,
  }
}

/** What every edge-auth connection sets, whoever configured the rest. */
const CONNECTION_RULES = {
  max: 1,
  prepare: false,
  fetch_types: false,
  onnotice: () => {},
  backoff: () => 0,
  transform: { undefined: null },
} as const

/**
 * postgres.js options for one connection with the settings of a client someone else configured
 * (server, credentials, TLS, types): its transforms are dropped, so that column names and values
 * are what the queries here expect, and the rules of every edge-auth connection apply.
 *
 * @param options the client's options (`sql.options`)
 * @param session what the connection reports to its owner
 * @returns options postgres.js takes as they are
 */
export function adoptedOptions(
  options: postgres.Sql['options'],
  session: SessionOptions,
): postgres.Options<Record<string, postgres.PostgresType>> {
  return {
    ...options,
    ...CONNECTION_RULES,
    // The parsed form postgres.js keeps; `shared` tells it these options are parsed already.
    transform: {
      undefined: null,
      column: { from: undefined, to: undefined },
      value: { from: undefined, to: undefined },
      row: { from: undefined, to: undefined },
    },
    parameters: {},
    shared: { retries: 0, typeArrayMap: {} },
    idle_timeout: session.idleTimeoutSeconds,
    onclose: session.onclose,
  } as unknown as postgres.Options<Record<string, postgres.PostgresType>>
}

function decode(value: string, what: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    throw new TypeError(`has a malformed ${what}`)
  }
}
