/**
 * A transaction-mode pooler in front of the stack's PostgreSQL, the way hosted functions usually
 * reach their database (Supabase's pooler on port 6543): PgBouncer from the system's packages,
 * `pool_mode = transaction`, on loopback. Through it a connection keeps no session state between
 * transactions, and a named prepared statement would land on whichever server connection runs
 * the next transaction; the functions must work with neither.
 *
 * Only the functions connect through it; migrations and the auth server keep the direct
 * connection, as on hosted projects.
 *
 * @module
 */
import { join } from 'node:path'
import { freePort } from './ports.ts'
import {
  type ChildOutput,
  delay,
  type ManagedChild,
  processAlive,
  processCommandLine,
  spawnManaged,
  terminatePid,
} from './processes.ts'
import { postgresOwner, superuser } from './postgres.ts'

/** The pooler modes the stack can put in front of the functions' database. */
export type PoolerMode = 'off' | 'transaction'

/** Options for {@linkcode Pooler}. */
export interface PoolerOptions {
  /** Directory for the configuration files and PgBouncer's log (created if missing). */
  dir: string
  /** Port to listen on (127.0.0.1); 0 picks a free one. */
  port: number
  /** PostgreSQL's port on 127.0.0.1. */
  pgPort: number
  /** Where the running PgBouncer's pid is kept, so a later stack can stop an orphaned one. */
  pidFile: string
  /** Where PgBouncer's output goes before it opens its own log file (start-up errors). */
  output: ChildOutput
  log: (message: string) => void
}

/** PgBouncer in transaction mode. */
export class Pooler {
  readonly #options: PoolerOptions
  readonly port: number
  #child: ManagedChild | null = null
  #stopping = false

  /**
   * @param options directory, ports, output and logger
   */
  constructor(options: PoolerOptions) {
    this.#options = options
    this.port = options.port === 0 ? freePort() : options.port
  }

  /** The functions' `SUPABASE_DB_URL` through the pooler. */
  get url(): string {
    const { name, password } = superuser
    return `postgres://${name}:${password}@127.0.0.1:${this.port}/postgres`
  }

  /** The PgBouncer process id while it runs. */
  get pid(): number | null {
    return this.#child?.running ? this.#child.pid : null
  }

  /**
   * Writes the configuration and starts PgBouncer; resolves once it accepts connections.
   *
   * @throws Error when `pgbouncer` is not installed or does not start listening
   */
  async start(): Promise<void> {
    if (this.#child?.running) return
    const binary = findPgBouncer()
    const owner = await postgresOwner()
    const config = await this.#writeConfig(owner)
    // PgBouncer refuses to run as root; -u switches to the postgres user once it has started.
    const args = owner ? ['-u', 'postgres', config] : [config]
    this.#stopping = false
    const child = spawnManaged(binary, args, { output: this.#options.output })
    this.#child = child
    await Deno.writeTextFile(this.#options.pidFile, String(child.pid))
    child.exited.then((status) => {
      if (!this.#stopping && this.#child === child) {
        this.#options.log(`PgBouncer exited unexpectedly (code ${status.code})`)
      }
    })
    const deadline = Date.now() + 10_000
    while (!(await accepts(this.port))) {
      if (!child.running) throw new Error(`PgBouncer exited at start-up (see its log)`)
      if (Date.now() > deadline) {
        await this.stop()
        throw new Error(`PgBouncer did not listen on 127.0.0.1:${this.port} within 10 s`)
      }
      await delay(25)
    }
  }

  /** Stops PgBouncer at once (SIGTERM: every client connection is closed). */
  async stop(): Promise<void> {
    this.#stopping = true
    await this.#child?.stop(5_000)
    this.#child = null
    await Deno.remove(this.#options.pidFile).catch(() => {})
  }

  async #writeConfig(owner: { uid: number; gid: number } | null): Promise<string> {
    const { dir, pgPort } = this.#options
    await Deno.mkdir(dir, { recursive: true })
    const users = join(dir, 'userlist.txt')
    const config = join(dir, 'pgbouncer.ini')
    await Deno.writeTextFile(users, `"${superuser.name}" "${superuser.password}"\n`, {
      mode: 0o600,
    })
    await Deno.writeTextFile(
      config,
      [
        '[databases]',
        `* = host=127.0.0.1 port=${pgPort}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${this.port}`,
        // No Unix socket: nothing but the functions connects, and only over TCP.
        'unix_socket_dir =',
        'auth_type = scram-sha-256',
        `auth_file = ${users}`,
        'pool_mode = transaction',
        'default_pool_size = 10',
        'max_client_conn = 500',
        // PgBouncer refuses new clients at once for this long after a failed server login (the
        // default 15 s): after PostgreSQL restarts, the pool is usable again almost at once.
        'server_login_retry = 0.1',
        // A query waiting for a server connection fails after 3 s instead of 120 s, so a database
        // outage behind the pooler becomes a prompt 503, as without it.
        'query_wait_timeout = 3',
        // Sent by some clients at start-up; a transaction pooler cannot keep them.
        'ignore_startup_parameters = extra_float_digits,options,search_path',
        // Its own log file: PgBouncer writes nothing to stderr once it has switched user.
        `logfile = ${join(dir, 'pgbouncer.log')}`,
        'log_connections = 0',
        'log_disconnections = 0',
        // The superuser may read `SHOW POOLS` and the like on the `pgbouncer` admin database.
        `admin_users = ${superuser.name}`,
        '',
      ].join('\n'),
    )
    if (owner) {
      for (const path of [dir, users, config]) await Deno.chown(path, owner.uid, owner.gid)
    }
    return config
  }
}

/**
 * The pooler mode from `EDGE_AUTH_POOLER` (`transaction`, or `off` for none).
 *
 * @param option an explicit mode, which wins
 * @param fallback the mode when the variable is unset (default `off`)
 * @returns the mode
 * @throws RangeError for another value
 */
export function resolvePoolerMode(option?: PoolerMode, fallback: PoolerMode = 'off'): PoolerMode {
  const value = option ?? (Deno.env.get('EDGE_AUTH_POOLER') || fallback)
  if (value !== 'off' && value !== 'transaction') {
    throw new RangeError(`Invalid EDGE_AUTH_POOLER "${value}": expected "transaction" or "off"`)
  }
  return value
}

/**
 * Stops a PgBouncer left running by a supervisor that died without stopping it: it would keep the
 * old port and connections to a PostgreSQL that is gone.
 *
 * @param pidFile the pid file a {@linkcode Pooler} writes
 * @param log progress logger
 */
export async function stopStalePooler(pidFile: string, log: (message: string) => void) {
  let pid: number
  try {
    pid = Number(await Deno.readTextFile(pidFile))
  } catch {
    return
  }
  // Only a process that still looks like PgBouncer: the pid may have been reused.
  if (pid > 0 && processAlive(pid) && processCommandLine(pid)?.includes('pgbouncer')) {
    log(`stopping a PgBouncer left running by an earlier stack (pid ${pid})`)
    await terminatePid(pid)
  }
  await Deno.remove(pidFile).catch(() => {})
}

/**
 * Whether PgBouncer is installed, for callers that can do without it (the benchmark).
 *
 * @returns true when `pgbouncer` is on PATH, in /usr/sbin or in /usr/bin
 */
export function hasPgBouncer(): boolean {
  try {
    findPgBouncer()
    return true
  } catch {
    return false
  }
}

function findPgBouncer(): string {
  const dirs = [...(Deno.env.get('PATH') ?? '').split(':'), '/usr/sbin', '/usr/bin']
  for (const dir of dirs) {
    try {
      if (dir && Deno.statSync(join(dir, 'pgbouncer')).isFile) return join(dir, 'pgbouncer')
    } catch {
      // Not in this directory.
    }
  }
  throw new Error(
    'EDGE_AUTH_POOLER=transaction needs PgBouncer, which is not installed (apt-get install pgbouncer)',
  )
}

async function accepts(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: '127.0.0.1', port })
    conn.close()
    return true
  } catch {
    return false
  }
}
