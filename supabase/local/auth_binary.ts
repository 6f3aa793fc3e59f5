/**
 * Finds the Supabase Auth server binary, or builds it from the pinned release's source.
 * `AUTH_SERVER_BIN` points at an existing binary and wins over everything else.
 *
 * @module
 */
import { join } from 'node:path'
import { runCommand } from './processes.ts'

/** The source repository of the Supabase Auth server. */
export const authRepository = 'https://github.com/supabase/auth'

/**
 * The pinned release. From v2.190.0 on, upstream's `go.mod` carries a `replace` directive, so
 * `go install <module>@<version>` refuses these releases: they are built from a checkout of the tag.
 */
export const authVersion = 'v2.196.0'

/** Options for {@linkcode locateAuthBinary}. */
export interface LocateAuthOptions {
  /** Where a build goes (`<binDir>/auth`), and the first place we look. */
  binDir: string
  /** Further binaries to reuse before building, in order. */
  candidates?: string[]
  /** Whether to build the pinned release when no binary is found. */
  install: boolean
  log: (message: string) => void
}

/** Either a usable binary (and the version it reports) or the reason there is none. */
export type AuthBinary =
  | { path: string; version: string; reason?: undefined }
  | { path: null; version?: undefined; reason: string }

/**
 * Locates (or builds) the auth server binary. A binary of another version than the pinned one is
 * still used (a developer may try a newer release), with a warning in the log.
 *
 * @param options where to look and whether to build
 * @returns the binary path and version, or `path: null` with the exact reason
 * @throws Error when `AUTH_SERVER_BIN` is set but unusable (a configuration mistake, not a fallback)
 */
export async function locateAuthBinary(options: LocateAuthOptions): Promise<AuthBinary> {
  const override = Deno.env.get('AUTH_SERVER_BIN')
  if (override) {
    if (!isExecutable(override)) {
      throw new Error(`AUTH_SERVER_BIN=${override} is not an executable file`)
    }
    return await found(override, options.log)
  }
  const target = join(options.binDir, 'auth')
  for (const candidate of [target, ...(options.candidates ?? [])]) {
    if (isExecutable(candidate)) return await found(candidate, options.log)
  }
  if (!options.install) {
    return { path: null, reason: `no auth server binary at ${target} (installing is disabled)` }
  }
  const go = findOnPath('go', ['/usr/local/go/bin'])
  const git = findOnPath('git')
  if (!go || !git) {
    return {
      path: null,
      reason: `no auth server binary at ${target}, and no ${
        go ? 'git' : 'Go toolchain'
      } to build ${authVersion} with`,
    }
  }
  const reason = await buildRelease(go, git, target, options.log)
  if (reason !== null) return { path: null, reason }
  return await found(target, options.log)
}

/**
 * Builds the pinned release from a shallow checkout of its tag, as upstream builds its releases
 * (static, the version stamped in).
 *
 * @returns null when built, else why not
 */
async function buildRelease(
  go: string,
  git: string,
  target: string,
  log: (message: string) => void,
): Promise<string | null> {
  log(`building the Supabase Auth server ${authVersion} from ${authRepository} (first start only)`)
  await Deno.mkdir(join(target, '..'), { recursive: true })
  const checkout = await Deno.makeTempDir({ prefix: 'edge-auth-auth-src-' })
  try {
    const clone = await runCommand(git, [
      'clone',
      '--quiet',
      '--depth=1',
      `--branch=${authVersion}`,
      authRepository,
      checkout,
    ], { env: { GIT_TERMINAL_PROMPT: '0' } })
    if (clone.code !== 0) {
      return `git clone --branch=${authVersion} ${authRepository} failed (exit ${clone.code}):\n` +
        (clone.stderr.trim() || clone.stdout.trim())
    }
    const ldflags = `-s -w -X github.com/supabase/auth/internal/utilities.Version=${authVersion}`
    // The rest of the environment passes through, so Go reuses the user's module and build caches.
    const build = await runCommand(go, [
      'build',
      '-trimpath',
      `-ldflags=${ldflags}`,
      '-o',
      target,
      '.',
    ], {
      cwd: checkout,
      env: { CGO_ENABLED: '0' },
    })
    if (build.code !== 0 || !isExecutable(target)) {
      return `CGO_ENABLED=0 go build of ${authVersion} failed (exit ${build.code}):\n` +
        (build.stderr.trim() || build.stdout.trim())
    }
    return null
  } finally {
    await Deno.remove(checkout, { recursive: true }).catch(() => {})
  }
}

/** A binary found: its version, and a warning when it is not the pinned release. */
async function found(path: string, log: (message: string) => void): Promise<AuthBinary> {
  const result = await runCommand(path, ['version']).catch(() => null)
  const version = /v\d+\.\d+\.\d+\S*/.exec(result?.stdout ?? '')?.[0] ?? 'unknown version'
  if (version !== authVersion) {
    log(`${path} is Supabase Auth ${version}, not the pinned ${authVersion}; using it anyway`)
  }
  return { path, version }
}

function findOnPath(name: string, extraDirs: string[] = []): string | null {
  const dirs = [...(Deno.env.get('PATH') ?? '').split(':'), ...extraDirs]
  for (const dir of dirs) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name)
  }
  return null
}

function isExecutable(path: string): boolean {
  try {
    const info = Deno.statSync(path)
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0
  } catch {
    return false
  }
}
