// The auth server failing in the ways that make supabase-js retry: a 5xx (JSON or HTML), or no
// answer within the budget. supabase-js retries a refresh with backoff for up to 30 s (auth-js
// `_refreshAccessToken`); before the one-exchange guard of functions/_shared/upstream/auth_client.ts a
// refresh against a 503 took 25 s to answer and sent the refresh token upstream 8 times, and a
// replayed refresh token that upstream had already rotated can trip its reuse detection and revoke
// the session. Now: one upstream request, then 502 (or 504 on a timeout). Counts, not timings.
import { assertEquals } from '@std/assert'
import { loadConfig } from '../../functions/_shared/core/config.ts'
import { createLoginApp } from '../../functions/login/app.ts'
import { createRefreshApp } from '../../functions/refresh/app.ts'
import { assertNoEcho } from '../_helpers/assert_auth.ts'
import { startLocalServer } from '../_helpers/local_server.ts'
import { quietly } from '../_helpers/quietly.ts'

const REFRESH_TOKEN = 'refresh-token-that-must-not-be-replayed'
const PASSWORD = 'correct-horse-battery-staple'

const FAILURES: [string, () => Response | Promise<Response>, number][] = [
  ['answers 503 JSON', () => Response.json({ msg: 'unavailable' }, { status: 503 }), 502],
  ['answers 500 JSON', () => Response.json({ msg: 'Database error' }, { status: 500 }), 502],
  [
    'answers 502 HTML (a proxy)',
    () => new Response('<html>bad gateway</html>', { status: 502 }),
    502,
  ],
  [
    'does not answer within the 300 ms budget',
    () => new Promise((resolve) => setTimeout(() => resolve(Response.json({})), 1_000)),
    504,
  ],
]

function appsFor(url: string) {
  const vars: Record<string, string> = {
    SUPABASE_URL: url,
    SUPABASE_ANON_KEY: 'anon-key-for-tests',
    EDGE_AUTH_UPSTREAM_TIMEOUT_MS: '300',
  }
  const config = loadConfig({ get: (name) => vars[name] })
  return { login: createLoginApp(config), refresh: createRefreshApp(config) }
}

for (const [label, answer, expected] of FAILURES) {
  Deno.test(`auth server ${label} -> refresh and login ${expected} after exactly one upstream request (no supabase-js retry)`, async () => {
    const upstream = startLocalServer(answer)
    try {
      const apps = appsFor(upstream.url)
      const refresh = await quietly(async () =>
        await apps.refresh.request('/refresh', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ refresh_token: REFRESH_TOKEN }),
        })
      )
      await assertNoEcho(refresh, [REFRESH_TOKEN])
      assertEquals(refresh.status, expected, await refresh.clone().text())
      await refresh.body?.cancel()
      assertEquals(upstream.requests.length, 1, 'the refresh token went upstream once')

      const login = await quietly(async () =>
        await apps.login.request('/login', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ email: 'alice@example.com', password: PASSWORD }),
        })
      )
      await assertNoEcho(login, [PASSWORD])
      assertEquals(login.status, expected)
      await login.body?.cancel()
      assertEquals(upstream.requests.length, 2, 'the password went upstream once')
    } finally {
      await upstream.close()
    }
  })
}
