// The functions as `supabase functions serve` runs them: in Docker, with the variables the CLI
// injects (an internal `SUPABASE_URL=http://kong:8000`, `SUPABASE_DB_URL` on host `db`, the API
// keys, `SUPABASE_JWKS`) and an env file that may only hold names the CLI accepts. Docker cannot
// run here, so the Docker host names resolve to loopback (`127.0.0.1 kong db` in /etc/hosts, which
// .ci/run writes) and two port forwarders stand in for Docker's network: kong:8000 to this
// stack's gateway, db:5432 to its PostgreSQL. The functions host then gets exactly that
// environment, and the session lifecycle runs through it.
import { assert, assertEquals } from '@std/assert'
import { decodeJwt } from 'jose'
import { FunctionsHost } from '../../supabase/local/functions_process.ts'
import { resolveFunctionsRuntime } from '../../supabase/local/functions_runtime.ts'
import { repoRoot } from '../../supabase/local/paths.ts'
import { assertMe } from '../_helpers/assert_auth.ts'
import { eventually } from '../_helpers/poll.ts'
import {
  createTestUser,
  hasAuthServer,
  requestInit,
  type TestStack,
  testStack,
} from '../_helpers/stack.ts'

/** Whether the Docker host names resolve to this machine, as in the CLI's network. */
function dockerNamesResolve(): boolean {
  try {
    const hosts = Deno.readTextFileSync('/etc/hosts')
    const names = (name: string) =>
      hosts.split('\n').some((line) =>
        /^127\.0\.0\.1\s/.test(line) && line.split(/\s+/).slice(1).includes(name)
      )
    return names('kong') && names('db')
  } catch {
    return false
  }
}

/** Forwards every connection to `listenPort` on loopback to `targetPort`, as Docker's network would. */
function forward(listenPort: number, targetPort: number): { close(): void } {
  const listener = Deno.listen({ hostname: '127.0.0.1', port: listenPort })
  const open = new Set<Deno.Conn>()
  ;(async () => {
    for await (const incoming of listener) {
      open.add(incoming)
      Deno.connect({ hostname: '127.0.0.1', port: targetPort }).then((outgoing) => {
        open.add(outgoing)
        const done = () => {
          for (const conn of [incoming, outgoing]) {
            open.delete(conn)
            try {
              conn.close()
            } catch {
              // Already closed by the other direction.
            }
          }
        }
        Promise.allSettled([
          incoming.readable.pipeTo(outgoing.writable),
          outgoing.readable.pipeTo(incoming.writable),
        ]).then(done)
      }, () => incoming.close())
    }
  })().catch(() => {})
  return {
    close() {
      listener.close()
      for (const conn of open) {
        try {
          conn.close()
        } catch {
          // Already closed.
        }
      }
    },
  }
}

/** The symmetric key (the legacy JWT secret) the CLI's key set carries. */
const CLI_OCT_KEY = {
  kty: 'oct',
  k: 'c3VwZXItc2VjcmV0LWp3dC10b2tlbi13aXRoLWF0LWxlYXN0LTMyLWNoYXJhY3RlcnMtbG9uZw',
}

/** Exactly what `functions serve` gives a function, plus the one line of the README's env file. */
function cliEnvironment(stack: TestStack, jwks: unknown): Record<string, string> {
  const keys = stack as TestStack & { publishableKey?: string; secretKey?: string }
  return {
    SUPABASE_URL: 'http://kong:8000',
    SUPABASE_DB_URL: 'postgresql://postgres:postgres@db:5432/postgres',
    SUPABASE_ANON_KEY: stack.anonKey,
    SUPABASE_SERVICE_ROLE_KEY: stack.serviceRoleKey,
    ...(keys.publishableKey && keys.secretKey
      ? {
        SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: keys.publishableKey }),
        SUPABASE_SECRET_KEYS: JSON.stringify({ default: keys.secretKey }),
      }
      : {}),
    SUPABASE_JWKS: JSON.stringify(jwks),
    EDGE_AUTH_JWT_ISSUER: stack.issuer,
  }
}

for (
  const [label, jwksOf] of [
    // Since CLI 2.71.1, `supabase start` signs with an ES256 key and injects its public key and
    // an oct key (the README recipe); here the ES256 key is the stack's.
    [
      'as CLI 3 injects it (the ES256 public key and an oct key)',
      (jwks: { keys: unknown[] }) => ({ keys: [...jwks.keys, CLI_OCT_KEY] }),
    ],
    ["with signing_keys_path (only that file's public keys)", (jwks: { keys: unknown[] }) => jwks],
    ['as CLIs before 2.71.1 injected it (only the oct key)', () => ({ keys: [CLI_OCT_KEY] })],
  ] as const
) {
  Deno.test({
    name:
      `functions with the environment of supabase functions serve, ${label}: login 200, me 200, notes 201/200, logout 204, then me 401 within the session cache TTL`,
    ignore: !hasAuthServer || (!dockerNamesResolve() && !Deno.env.get('CI')),
    async fn() {
      assert(dockerNamesResolve(), '/etc/hosts must map kong and db to 127.0.0.1 (.ci/run does)')
      const stack = testStack()
      const jwks = await (await fetch(stack.jwksUrl)).json()
      const kong = forward(8000, stack.ports.gateway)
      const db = forward(5432, stack.ports.postgres)
      const host = new FunctionsHost({
        repoRoot,
        runtime: await resolveFunctionsRuntime(),
        env: cliEnvironment(stack, jwksOf(jwks)),
        output: { line: () => {} },
        log: () => {},
      })
      try {
        await host.start()
        const base = `${host.url}/functions/v1`
        const user = await createTestUser()
        const login = await fetch(
          `${base}/login`,
          requestInit({ email: user.email, password: user.password }),
        )
        assertEquals(login.status, 200, await login.clone().text())
        assertEquals(login.headers.get('Cache-Control'), 'no-store')
        const session = await login.json()
        const token = session.access_token as string
        const ids = { sub: user.id, session_id: decodeJwt(token).session_id }
        await assertMe(await fetch(`${base}/me`, requestInit(undefined, token)), token, ids)
        const created = await fetch(`${base}/notes`, requestInit({ body: 'from kong' }, token))
        assertEquals(created.status, 201, await created.clone().text())
        await created.body?.cancel()
        const listed = await fetch(`${base}/notes`, requestInit(undefined, token))
        assertEquals(listed.status, 200)
        assertEquals((await listed.json()).notes.map((n: { body: string }) => n.body), [
          'from kong',
        ])
        const logout = await fetch(`${base}/logout`, requestInit(undefined, token, 'POST'))
        assertEquals(logout.status, 204, await logout.clone().text())
        // `me` is an instance of its own: its last "live" answer lasts the session cache TTL.
        const { value: after } = await eventually(async () => {
          const response = await fetch(`${base}/me`, requestInit(undefined, token))
          if (response.status === 401) return response
          assertEquals(response.status, 200)
          await response.body?.cancel()
        }, { timeoutMs: 3_000, what: 'me refuses the signed-out session' })
        assertEquals(await after.json(), {
          error: 'invalid_token',
          error_description: 'session revoked',
        })
      } finally {
        await host.stop()
        kong.close()
        db.close()
      }
    },
  })
}
