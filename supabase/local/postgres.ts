/**
 * PostgreSQL for the local stack: the system's binaries, a cluster of our own under
 * `<stateDir>/pg`, listening on 127.0.0.1 only with its Unix socket inside the state directory.
 * When we run as root every PostgreSQL program runs as the `postgres` OS user (initdb refuses root).
 *
 * @module
 */
import { join } from 'node:path'
import type { StatePaths } from './paths.ts'
import { asPostgresUser, runCommand, tailFile } from './processes.ts'

/** The superuser the stack creates; the password is fixed because the cluster is local only. */
export const superuser = { name: 'postgres', password: 'postgres' }

/** Paths of the PostgreSQL programs we use. */
export interface PostgresBinaries {
  pgCtl: string
  initdb: string
  /** Major version, e.g. 15. */
  major: number
}

/**
 * Finds `pg_ctl` and `initdb`: on PATH, else in the newest `/usr/lib/postgresql/<major>/bin`
 * (Debian keeps them off PATH).
 *
 * @returns the binaries and their major version
 * @throws Error when no PostgreSQL installation is found
 */
export async function findPostgresBinaries(): Promise<PostgresBinaries> {
  let dir = pathDirWith(['pg_ctl', 'initdb'])
  if (!dir) {
    const majors = listDir('/usr/lib/postgresql')
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 0)
      .sort((a, b) => b - a)
    for (const major of majors) {
      const candidate = `/usr/lib/postgresql/${major}/bin`
      if (isFile(join(candidate, 'pg_ctl')) && isFile(join(candidate, 'initdb'))) {
        dir = candidate
        break
      }
    }
  }
  if (!dir) {
    throw new Error(
      'Cannot start PostgreSQL: pg_ctl and initdb were found neither on PATH nor in /usr/lib/postgresql/<version>/bin (install postgresql)',
    )
  }
  const pgCtl = join(dir, 'pg_ctl')
  const version = await runCommand(pgCtl, ['--version'])
  const major = Number(/\(PostgreSQL\)\s+(\d+)/.exec(version.stdout)?.[1])
  if (!major) throw new Error(`Cannot read the PostgreSQL version from "${pgCtl} --version"`)
  return { pgCtl, initdb: join(dir, 'initdb'), major }
}

/** Options for {@linkcode Postgres}. */
export interface PostgresOptions {
  paths: StatePaths
  port: number
  /** Trade durability for speed (fsync off): for throwaway test clusters only. */
  fast?: boolean
  log: (message: string) => void
}

/** One PostgreSQL cluster under a state directory. */
export class Postgres {
  readonly #options: PostgresOptions
  #binaries: PostgresBinaries | null = null
  readonly #logFile: string

  /**
   * @param options state paths, port, speed and a progress logger
   */
  constructor(options: PostgresOptions) {
    this.#options = options
    this.#logFile = join(options.paths.pg, 'postgres.log')
  }

  /** The superuser connection URL (TCP, password authentication). */
  get url(): string {
    const { name, password } = superuser
    return `postgres://${name}:${password}@127.0.0.1:${this.#options.port}/postgres`
  }

  /** The port the cluster listens on. */
  get port(): number {
    return this.#options.port
  }

  /** The server log, for error messages. */
  get logFile(): string {
    return this.#logFile
  }

  /**
   * Initialises the cluster on first use, then starts it and waits until it accepts connections.
   *
   * @throws Error with the tail of the server log when it does not start
   */
  async start(): Promise<void> {
    const bins = await this.#bins()
    await this.#ensureCluster(bins)
    await this.#writeRuntimeConfig()
    if (await this.isRunning()) return
    const result = await this.#pgCtl(bins, [
      '-D',
      this.#options.paths.pgData,
      '-l',
      this.#logFile,
      '-w',
      '-t',
      '60',
      'start',
    ])
    if (result.code !== 0) {
      throw new Error(
        `PostgreSQL did not start (pg_ctl exit ${result.code}): ${result.stderr.trim()}\n` +
          `--- ${this.#logFile} ---\n${tailFile(this.#logFile)}`,
      )
    }
  }

  /** Fast shutdown (`pg_ctl stop -m fast`): disconnects clients, no crash recovery needed. */
  async stop(): Promise<void> {
    if (!(await this.isRunning())) return
    const bins = await this.#bins()
    const result = await this.#pgCtl(bins, [
      '-D',
      this.#options.paths.pgData,
      '-m',
      'fast',
      '-w',
      '-t',
      '60',
      'stop',
    ])
    if (result.code !== 0 && (await this.isRunning())) {
      throw new Error(`PostgreSQL did not stop: ${result.stderr.trim()}`)
    }
  }

  /** Whether a postmaster runs on this data directory (ours or a stale one). */
  async isRunning(): Promise<boolean> {
    if (!isFile(join(this.#options.paths.pgData, 'PG_VERSION'))) return false
    const bins = await this.#bins()
    const result = await this.#pgCtl(bins, ['-D', this.#options.paths.pgData, 'status'])
    return result.code === 0
  }

  /** The postmaster's pid from `postmaster.pid`, or null when it does not run. */
  pid(): number | null {
    try {
      const text = Deno.readTextFileSync(join(this.#options.paths.pgData, 'postmaster.pid'))
      const pid = Number(text.split('\n')[0])
      return Number.isInteger(pid) && pid > 0 ? pid : null
    } catch {
      return null
    }
  }

  async #bins(): Promise<PostgresBinaries> {
    this.#binaries ??= await findPostgresBinaries()
    return this.#binaries
  }

  #pgCtl(bins: PostgresBinaries, args: string[]) {
    const [cmd, fullArgs] = asPostgresUser(bins.pgCtl, args)
    // cwd inside our pg dir: the postgres OS user may not be allowed into the caller's cwd.
    return runCommand(cmd, fullArgs, { cwd: this.#options.paths.pg })
  }

  async #ensureCluster(bins: PostgresBinaries): Promise<void> {
    const { pg, pgData, root } = this.#options.paths
    await Deno.mkdir(pg, { recursive: true })
    const owner = await postgresOwner()
    if (owner) {
      // The postgres OS user must be able to reach its directory through the state dir.
      await Deno.chmod(root, 0o755)
      await Deno.chown(pg, owner.uid, owner.gid)
    }
    await Deno.chmod(pg, 0o700)
    const versionFile = join(pgData, 'PG_VERSION')
    if (isFile(versionFile)) {
      const dataMajor = Number(Deno.readTextFileSync(versionFile).trim())
      if (dataMajor !== bins.major) {
        throw new Error(
          `The PostgreSQL data in ${pgData} is version ${dataMajor} but the binaries are ${bins.major}; run "deno task reset" to start over`,
        )
      }
      return
    }
    // A data directory without PG_VERSION is a half-finished initdb of ours: start it over.
    await Deno.remove(pgData, { recursive: true }).catch(() => {})
    this.#options.log('initialising a new PostgreSQL cluster')
    const pwFile = join(pg, '.initdb-password')
    await Deno.writeTextFile(pwFile, `${superuser.password}\n`, { mode: 0o600 })
    if (owner) await Deno.chown(pwFile, owner.uid, owner.gid)
    try {
      const [cmd, args] = asPostgresUser(bins.initdb, [
        '-D',
        pgData,
        '-U',
        superuser.name,
        `--pwfile=${pwFile}`,
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '-E',
        'UTF8',
        '--locale=C',
        '--no-sync',
      ])
      const result = await runCommand(cmd, args, { cwd: pg })
      if (result.code !== 0) {
        throw new Error(`initdb failed (exit ${result.code}): ${result.stderr.trim()}`)
      }
    } finally {
      await Deno.remove(pwFile).catch(() => {})
    }
    // Per-start settings (port, socket dir) live in a file of their own, rewritten on every start.
    await Deno.writeTextFile(
      join(pgData, 'postgresql.conf'),
      "\n# edge-auth local stack: per-start settings\ninclude_if_exists = 'edge_auth.conf'\n",
      { append: true },
    )
  }

  async #writeRuntimeConfig(): Promise<void> {
    const { pg, pgData } = this.#options.paths
    // Unix socket paths are limited to 107 bytes; fail clearly rather than in the server log.
    if (`${pg}/.s.PGSQL.${this.#options.port}`.length > 100) {
      throw new Error(`The state directory path is too long for a PostgreSQL socket: ${pg}`)
    }
    const lines = [
      "listen_addresses = '127.0.0.1'",
      `port = ${this.#options.port}`,
      `unix_socket_directories = '${pg.replaceAll("'", "''")}'`,
    ]
    if (this.#options.fast) {
      lines.push('fsync = off', 'synchronous_commit = off', 'full_page_writes = off')
    }
    const confPath = join(pgData, 'edge_auth.conf')
    await Deno.writeTextFile(confPath, lines.join('\n') + '\n')
    const owner = await postgresOwner()
    if (owner) await Deno.chown(confPath, owner.uid, owner.gid)
  }
}

let ownerCache: { uid: number; gid: number } | null | undefined

/**
 * The uid/gid of the `postgres` OS user when we are root (files must be theirs), else null.
 *
 * @returns the ids, or null when we are not root
 * @throws Error when we are root and there is no `postgres` OS user
 */
export async function postgresOwner(): Promise<{ uid: number; gid: number } | null> {
  if (ownerCache !== undefined) return ownerCache
  if (Deno.uid() !== 0) return (ownerCache = null)
  const uid = await runCommand('id', ['-u', 'postgres'])
  const gid = await runCommand('id', ['-g', 'postgres'])
  if (uid.code !== 0 || gid.code !== 0) {
    throw new Error(
      'Running as root, but there is no "postgres" OS user to run PostgreSQL as (initdb refuses root)',
    )
  }
  ownerCache = { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) }
  return ownerCache
}

function pathDirWith(names: string[]): string | null {
  for (const dir of (Deno.env.get('PATH') ?? '').split(':')) {
    if (dir && names.every((name) => isFile(join(dir, name)))) return dir
  }
  return null
}

function listDir(path: string): string[] {
  try {
    return [...Deno.readDirSync(path)].map((entry) => entry.name)
  } catch {
    return []
  }
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile
  } catch {
    return false
  }
}
