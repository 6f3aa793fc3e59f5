/**
 * Finds the Supabase Auth server binary, or installs it with `go install` at the pinned version.
 * `AUTH_SERVER_BIN` points at an existing binary and wins over everything else.
 *
 * @module
 */
import { join } from 'node:path'
import { runCommand } from './processes.ts'

/** The Go module of the Supabase Auth server. */
export const authModule = 'github.com/supabase/auth'

/**
 * Release v2.189.0 (commit 4fa66ba71d8c) as a Go pseudo-version: the last release without a
 * `replace` directive, so plain `go install` can build it, and its binary embeds the migrations.
 * Never `@latest`: that resolves to an ancient netlify-era tag.
 */
export const authVersion = 'v1.11.1-0.20260428142003-4fa66ba71d8c'

/** Options for {@linkcode locateAuthBinary}. */
export interface LocateAuthOptions {
  /** The `go install` target (`GOBIN`); `<binDir>/auth` is also the first place we look. */
  binDir: string
  /** Further binaries to reuse before installing, in order. */
  candidates?: string[]
  /** Whether to run `go install` when no binary is found. */
  install: boolean
  log: (message: string) => void
}

/** Either a usable binary or the reason there is none. */
export type AuthBinary = { path: string; reason?: undefined } | { path: null; reason: string }

/**
 * Locates (or installs) the auth server binary.
 *
 * @param options where to look and whether to install
 * @returns the binary path, or `path: null` with the exact reason
 * @throws Error when `AUTH_SERVER_BIN` is set but unusable (a configuration mistake, not a fallback)
 */
export async function locateAuthBinary(options: LocateAuthOptions): Promise<AuthBinary> {
  const override = Deno.env.get('AUTH_SERVER_BIN')
  if (override) {
    if (!isExecutable(override)) {
      throw new Error(`AUTH_SERVER_BIN=${override} is not an executable file`)
    }
    return { path: override }
  }
  const target = join(options.binDir, 'auth')
  for (const candidate of [target, ...(options.candidates ?? [])]) {
    if (isExecutable(candidate)) return { path: candidate }
  }
  if (!options.install) {
    return { path: null, reason: `no auth server binary at ${target} (installing is disabled)` }
  }
  const go = findGo()
  if (!go) {
    return {
      path: null,
      reason: `no auth server binary at ${target}, and no Go toolchain to install it with`,
    }
  }
  const spec = `${authModule}@${authVersion}`
  options.log(`installing the Supabase Auth server: go install ${spec} (first start only)`)
  await Deno.mkdir(options.binDir, { recursive: true })
  // The rest of the environment passes through, so Go reuses the user's module and build caches.
  const result = await runCommand(go, ['install', spec], {
    env: { GOBIN: options.binDir, CGO_ENABLED: '0' },
  })
  if (result.code !== 0 || !isExecutable(target)) {
    return {
      path: null,
      reason:
        `GOBIN=${options.binDir} CGO_ENABLED=0 go install ${spec} failed (exit ${result.code}):\n` +
        (result.stderr.trim() || result.stdout.trim()),
    }
  }
  return { path: target }
}

function findGo(): string | null {
  const dirs = [...(Deno.env.get('PATH') ?? '').split(':'), '/usr/local/go/bin']
  for (const dir of dirs) {
    if (dir && isExecutable(join(dir, 'go'))) return join(dir, 'go')
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
