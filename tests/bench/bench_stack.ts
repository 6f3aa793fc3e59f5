/**
 * The benchmark's world: an ephemeral local stack (PostgreSQL + the real Supabase Auth server),
 * one real signed-in user, and distinct tokens minted in advance with the stack's signing key.
 *
 * @module
 */
import { CompactSign, decodeJwt, importJWK } from 'jose'
import { join } from 'node:path'
import { repoRoot } from '../../supabase/local/paths.ts'
import { type LocalStack, startStack } from '../../supabase/local/stack.ts'
import { hasPgBouncer, resolvePoolerMode } from '../../supabase/local/pooler.ts'

/** A stack with a signed-in user. */
export interface BenchStack {
  stack: LocalStack
  /** A real access token issued by the auth server (password grant): a live session. */
  accessToken: string
  /** The auth server's JWKS, as served. */
  jwks: string
  stop(): Promise<void>
}

/**
 * Starts an ephemeral stack (temporary state directory, free ports) and signs a user in.
 *
 * @param stateDir a temporary directory, removed by the caller
 * @param log progress messages
 * @returns the stack, the user's access token and the JWKS
 * @throws AuthServerUnavailableError when no auth server binary can be had
 */
export async function startBenchStack(
  stateDir: string,
  log: (message: string) => void,
): Promise<BenchStack> {
  const stack = await startStack({
    stateDir,
    gatewayPort: 0,
    pgPort: 0,
    authPort: 0,
    requireAuth: true,
    // Reuse the binary of `deno task start` (or AUTH_SERVER_BIN) instead of reinstalling.
    authBinDir: join(repoRoot, '.local', 'bin'),
    demoUser: false,
    exposeSigningKey: true,
    fastPostgres: true,
    // A transaction pooler in front of PostgreSQL, as hosted functions are advised to use: the
    // cold start of `me` is measured through it as well as direct. `EDGE_AUTH_POOLER` decides as
    // for the test stacks; unset, the pooler runs when PgBouncer is installed.
    pooler: resolvePoolerMode(undefined, hasPgBouncer() ? 'transaction' : 'off'),
    // Without an idle pool the auth server opens a PostgreSQL connection (SCRAM handshake, new
    // backend) for every request: `/user` then answers about 45 times a second instead of about
    // 2,500, which would make the getUser peer look far worse than on a real project. A value in
    // the caller's environment wins.
    authEnv: {
      GOTRUE_DB_MAX_IDLE_POOL_SIZE: Deno.env.get('GOTRUE_DB_MAX_IDLE_POOL_SIZE') ?? '10',
    },
    functionsOutput: 'file',
    log: (message) => log(`stack: ${message}`),
  })
  try {
    const info = stack.info
    const email = `bench-${crypto.randomUUID()}@example.com`
    const password = `pw-${crypto.randomUUID()}`
    await call(`${info.url}/auth/v1/admin/users`, info.secretKey, {
      email,
      password,
      email_confirm: true,
    })
    const session = await call(
      `${info.url}/auth/v1/token?grant_type=password`,
      info.publishableKey,
      { email, password },
    ) as { access_token: string }
    const jwks = await (await fetch(info.jwksUrl)).text()
    return { stack, accessToken: session.access_token, jwks, stop: () => stack.stop() }
  } catch (error) {
    await stack.stop()
    throw error
  }
}

async function call(url: string, key: string, body: unknown): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { apikey: key, Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`POST ${new URL(url).pathname} failed (${response.status})`)
  return JSON.parse(text)
}

/**
 * Mints `count` distinct valid tokens with the stack's signing key and writes them to a file, one
 * per line: the real token's claims, each with its own `session_id`, as if `count` users each
 * sent their own token.
 *
 * @param stack the running stack (its `signingKeyPath`)
 * @param template a real access token whose claims and header are copied
 * @param count how many tokens
 * @param file where to write them
 */
export async function mintTokens(
  stack: LocalStack,
  template: string,
  count: number,
  file: string,
): Promise<void> {
  const jwk = JSON.parse(await Deno.readTextFile(stack.info.signingKeyPath!))
  const key = await importJWK({ ...jwk, key_ops: undefined }, 'ES256')
  const claims = decodeJwt(template)
  const encoder = new TextEncoder()
  const lines: string[] = []
  // In batches: a few thousand signatures in flight at once is as fast as it gets.
  for (let start = 0; start < count; start += 2_000) {
    const batch = Array.from({ length: Math.min(2_000, count - start) }, () => {
      const payload = encoder.encode(JSON.stringify({ ...claims, session_id: crypto.randomUUID() }))
      return new CompactSign(payload)
        .setProtectedHeader({ alg: 'ES256', kid: jwk.kid, typ: 'JWT' })
        .sign(key)
    })
    lines.push(...await Promise.all(batch))
  }
  await Deno.writeTextFile(file, lines.join('\n') + '\n')
}
