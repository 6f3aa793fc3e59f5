// A function whose configuration is invalid still boots: on hosted Supabase a throw at boot is
// the platform's opaque BOOT_ERROR, without CORS headers or the name of the variable at fault.
import { assert, assertEquals, assertThrows } from '@std/assert'
import { loadConfig } from '../../functions/_shared/core/config.ts'
import { serveFunction } from '../../functions/_shared/hono/adapter.ts'
import { createLoginApp } from '../../functions/login/app.ts'
import { createMeApp } from '../../functions/me/app.ts'
import { capturingErrors } from '../_helpers/quietly.ts'

const SECRET = 'sb_secret_never_printed_0123456789'

const broken: [string, Record<string, string>][] = [
  ['SUPABASE_URL', { SUPABASE_URL: 'not a url' }],
  ['SUPABASE_SECRET_KEYS', {
    SUPABASE_URL: 'https://abc.supabase.co',
    SUPABASE_SECRET_KEYS: `{"default":"${SECRET}"`,
  }],
  ['SUPABASE_PUBLISHABLE_KEYS', { SUPABASE_URL: 'https://abc.supabase.co' }],
  ['EDGE_AUTH_CORS_ORIGINS', {
    SUPABASE_URL: 'https://abc.supabase.co',
    EDGE_AUTH_CORS_ORIGINS: 'https://app.example.com/path',
  }],
]

for (const [variable, vars] of broken) {
  Deno.test(`a function booted with an invalid ${variable} -> 500 server_misconfigured on every method, with CORS; the variable named once in the log, never its value`, async () => {
    const env = { get: (name: string) => vars[name] }
    const [handler, lines] = await capturingErrors(() =>
      serveFunction('login', () => createLoginApp(loadConfig(env, { require: ['publishableKey'] })))
    )
    assertEquals(lines.length, 1, lines.join('\n'))
    assert(lines[0]!.includes(variable), lines[0])
    assert(!lines[0]!.includes(SECRET), 'the value stays out of the log')
    for (const method of ['GET', 'POST', 'OPTIONS', 'DELETE']) {
      const response = await handler.fetch!(
        new Request('http://function.local/login', {
          method,
          headers: { Origin: 'https://app.example.com' },
        }),
        {} as Deno.ServeHandlerInfo<Deno.NetAddr>,
      )
      assertEquals(response.status, 500, method)
      assertEquals(response.headers.get('Content-Type'), 'application/json')
      assertEquals(response.headers.get('Access-Control-Allow-Origin'), '*')
      assertEquals(response.headers.get('Cache-Control'), 'no-store')
      assertEquals(response.headers.get('X-Content-Type-Options'), 'nosniff')
      assertEquals(await response.json(), {
        error: 'server_misconfigured',
        error_description: 'Server misconfigured',
      })
    }
  })
}

Deno.test('a valid configuration boots the app itself; an error that is not a configuration error still fails the boot', async () => {
  const env = { get: (name: string) => ({ SUPABASE_URL: 'https://abc.supabase.co' })[name] }
  const handler = serveFunction('me', () => createMeApp(loadConfig(env)))
  const response = await handler.fetch!(
    new Request('http://function.local/me'),
    {} as Deno.ServeHandlerInfo<Deno.NetAddr>,
  )
  assertEquals(response.status, 401)
  await response.body?.cancel()
  assertThrows(
    () =>
      serveFunction('me', () => {
        throw new TypeError('a bug')
      }),
    TypeError,
  )
})
