/**
 * A `postgres://` URL read into connection options, with libpq's names for the query settings
 * it understands (`sslmode`, `sslrootcert`, `application_name`, `connect_timeout`).
 *
 * @module
 */

/**
 * How TLS is used:
 * - `disable`: never (the default when the URL names no `sslmode`);
 * - `prefer`: when the server offers it (`allow` and `prefer`);
 * - `require`: always (`require`, `verify-ca`, `verify-full`).
 *
 * A certificate is always verified, against the system's roots or `sslrootcert`: Deno has no way
 * to encrypt without verifying, so `require` is as strict as libpq's `verify-full`.
 */
export type TlsMode = 'disable' | 'prefer' | 'require'

/** Everything needed to open a connection. */
export interface ConnectionOptions {
  readonly hostname: string
  readonly port: number
  readonly user: string
  readonly password: string
  readonly database: string
  readonly applicationName: string
  readonly tls: TlsMode
  /** The file named by `sslrootcert`, read when a connection starts TLS. */
  readonly rootCertificateFile?: string
  readonly connectTimeoutMs: number
}

const TLS_MODES: Readonly<Record<string, TlsMode>> = {
  disable: 'disable',
  allow: 'prefer',
  prefer: 'prefer',
  require: 'require',
  'verify-ca': 'require',
  'verify-full': 'require',
}

/**
 * Reads a `postgres://` or `postgresql://` URL.
 *
 * @param url the URL (user and password percent-encoded, as in Supabase's connection strings)
 * @param defaults what the URL does not say: the application name and the connect timeout
 * @returns the options
 * @throws TypeError naming the part that is wrong; the message never contains the URL
 */
export function parseConnectionUrl(
  url: string,
  defaults: { applicationName: string; connectTimeoutMs: number },
): ConnectionOptions {
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
  const port = parsed.port === '' ? 5432 : Number(parsed.port)
  const query = parsed.searchParams
  const sslmode = query.get('sslmode') ?? 'disable'
  const tls = TLS_MODES[sslmode]
  if (tls === undefined) throw new TypeError(`has an unknown sslmode`)
  const timeout = query.get('connect_timeout')
  const connectTimeoutMs = timeout === null ? defaults.connectTimeoutMs : Number(timeout) * 1000
  if (!Number.isFinite(connectTimeoutMs) || connectTimeoutMs <= 0) {
    throw new TypeError('has an invalid connect_timeout')
  }
  const user = decode(parsed.username, 'user')
  const database = decode(parsed.pathname.slice(1), 'database name')
  const rootCertificateFile = query.get('sslrootcert') ?? undefined
  return {
    // IPv6 literals come bracketed from URL; Deno.connect wants them bare.
    hostname: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    user: user === '' ? 'postgres' : user,
    password: decode(parsed.password, 'password'),
    database: database === '' ? (user === '' ? 'postgres' : user) : database,
    applicationName: query.get('application_name') ?? defaults.applicationName,
    tls,
    ...(rootCertificateFile === undefined ? {} : { rootCertificateFile }),
    connectTimeoutMs,
  }
}

function decode(value: string, what: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    throw new TypeError(`has a malformed ${what}`)
  }
}
