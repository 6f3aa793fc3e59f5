/**
 * `deno task start`: runs the local stack in the foreground until Ctrl-C or SIGTERM, then stops
 * every child. Without a Supabase Auth binary it refuses to start, unless
 * `EDGE_AUTH_ALLOW_NO_AUTH=1` asks for the degraded stack.
 *
 * @module
 */
import { relative } from 'node:path'
import { repoRoot } from './paths.ts'
import { AuthServerUnavailableError, type LocalStack, startStack } from './stack.ts'

/**
 * The one line printed when the stack is ready: URLs, demo credentials and a command to try.
 *
 * @param stack the running stack
 * @returns the line
 */
export function readyLine(stack: LocalStack): string {
  const { info } = stack
  const seconds = (stack.startMs / 1000).toFixed(1)
  const email = info.demoUser?.email ?? 'demo@example.com'
  const password = info.demoUser?.password ?? 'demo-password-123'
  const body = JSON.stringify({ email, password })
  const parts = [
    `API ${info.url}`,
    `functions ${info.functionsUrl} (${info.functionsRuntime})`,
    `browser demo ${info.demoUrl}`,
    `publishable key ${info.publishableKey}`,
    `secret key ${info.secretKey}`,
    info.legacyKeys ? 'legacy anon/service_role keys on' : 'legacy keys off',
    `JWKS ${info.jwksUrl}`,
    `DB ${info.dbUrl}`,
    ...(info.database === 'direct' ? [] : [`functions' DB via PgBouncer ${info.functionsDbUrl}`]),
    info.demoUser
      ? `demo user ${email} / ${password}`
      : 'no auth server: /auth/v1 answers 503, no demo user',
    `details ${relative(Deno.cwd(), info.stateDir) || '.'}/stack.json`,
    `try: curl -s -X POST ${info.functionsUrl}/login -H 'Content-Type: application/json' -d '${body}'`,
  ]
  return `edge-auth: ready in ${seconds}s | ${parts.join(' | ')}`
}

async function main(): Promise<number> {
  const allowNoAuth = Deno.env.get('EDGE_AUTH_ALLOW_NO_AUTH') === '1'
  // Listen before starting, so a Ctrl-C during start-up still stops what has started.
  let stopRequested = false
  let wake = () => {}
  const requested = new Promise<void>((resolve) => (wake = resolve))
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    Deno.addSignalListener(signal, () => {
      if (stopRequested) return
      stopRequested = true
      console.error(`edge-auth: ${signal} received, stopping`)
      wake()
    })
  }

  let stack: LocalStack
  try {
    stack = await startStack({
      requireAuth: !allowNoAuth,
      log(message) {
        // A terminal's Ctrl-C reaches every child too, so after a signal their exits are expected.
        if (stopRequested && message.includes('exited unexpectedly')) return
        console.error(`edge-auth: ${message}`)
      },
    })
  } catch (err) {
    if (err instanceof AuthServerUnavailableError) {
      console.error(
        `edge-auth: ${err.message}\n` +
          'edge-auth: set AUTH_SERVER_BIN=/path/to/auth (a Supabase Auth binary), or ' +
          'EDGE_AUTH_ALLOW_NO_AUTH=1 to start without it (/auth/v1 then answers 503)',
      )
    } else {
      console.error(`edge-auth: cannot start: ${(err as Error).message}`)
    }
    return 1
  }
  if (!stopRequested) {
    console.log(readyLine(stack))
    await requested
  }
  await stack.stop()
  console.error('edge-auth: stopped')
  return 0
}

if (import.meta.main) {
  Deno.chdir(repoRoot)
  Deno.exit(await main())
}
