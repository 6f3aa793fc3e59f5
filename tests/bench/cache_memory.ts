/**
 * Memory taken by a full verified-token cache: one instance verifies as many distinct tokens as
 * the cache holds (default 10,000), the tokens are then referenced by the cache alone, and the
 * heap growth after a full GC is compared with the same run on an instance whose cache is off
 * (size 0), so everything but the cache (its entries and the token strings it keeps) cancels out. Prints one JSON line. Needs `--v8-flags=--expose-gc`:
 *
 *   deno run -A --v8-flags=--expose-gc tests/bench/cache_memory.ts [--payload file.json]
 *
 * `--payload` is the payload of a real access token (JSON), so entries have real sizes; without it
 * the test helpers' Supabase-shaped claims are used. `--token-bytes 8192` pads `user_metadata` until
 * every token is about that long, the largest Supabase issues (its auth server caps a token's
 * claims at a few kilobytes of metadata), to show the cache's byte bound at work.
 *
 * @module
 */
import { authFromConfig } from '../../functions/_shared/auth/from_env.ts'
import { testConfig } from '../_helpers/jwks_server.ts'
import { claims, generateKeyPair, jwksOf, sign, type TestKey } from '../_helpers/keys.ts'

const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('Run with --v8-flags=--expose-gc')

function option(name: string): string | undefined {
  const index = Deno.args.indexOf(`--${name}`)
  return index >= 0 ? Deno.args[index + 1] : undefined
}

const payloadFile = option('payload')
const template = payloadFile ? JSON.parse(await Deno.readTextFile(payloadFile)) : claims()
const key = await generateKeyPair('ES256')
const targetLength = Number(option('token-bytes') ?? '0')
if (targetLength > 0) await padTo(targetLength)

/** Grows `user_metadata` until a signed token is `length` characters (base64url: 4 per 3 bytes). */
async function padTo(length: number): Promise<void> {
  const metadata = (template.user_metadata ?? {}) as Record<string, unknown>
  template.user_metadata = { ...metadata, padding: '' }
  const missing = length - (await sign(key, fresh())).length
  if (missing > 0) {
    template.user_metadata = { ...metadata, padding: 'x'.repeat(Math.floor((missing * 3) / 4)) }
  }
}

/** Heap in use after full GCs; event-loop turns in between release what settled promises hold. */
async function settle(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    gc!()
  }
  return Deno.memoryUsage().heapUsed
}

/** Heap growth of one instance after verifying `count` distinct tokens it alone keeps. */
async function growth(key: TestKey, cacheSize: number, count: number): Promise<number> {
  const config = testConfig({
    SUPABASE_JWKS: JSON.stringify(jwksOf(key)),
    EDGE_AUTH_JWT_ISSUER: template.iss,
    EDGE_AUTH_TOKEN_CACHE_SIZE: String(cacheSize),
  })
  const auth = authFromConfig(config, { sessionStore: () => Promise.resolve('live' as const) })
  // Key import and jose's caches are warmed before the first reading.
  await auth.verify(await sign(key, fresh()))
  const before = await settle()
  let tokens: string[] | null = await Promise.all(
    Array.from({ length: count }, () => sign(key, fresh())),
  )
  for (const token of tokens) await auth.verify(token)
  tokens = null
  const after = await settle()
  // Keeps the instance (and its cache) alive until after the reading.
  if ((await auth.keysReady()) !== true) throw new Error('keys not ready')
  return after - before
}

/** The template's claims, made current, with a new session so every token differs in content. */
function fresh(): Record<string, unknown> {
  const iat = Math.floor(Date.now() / 1000)
  return { ...template, session_id: crypto.randomUUID(), iat, exp: iat + 3600 }
}

const size = Number(option('size') ?? '10000')
const tokenLength = (await sign(key, fresh())).length
const withCache = await growth(key, size, size)
const withoutCache = await growth(key, 0, size)
const bytes = withCache - withoutCache
console.log(JSON.stringify({
  entries: size,
  token_length: tokenLength,
  bytes_bound: testConfig({}).tokenCacheBytes,
  heap_bytes: bytes,
  // The same run without a cache: close to 0 when nothing else kept the tokens alive.
  control_heap_bytes: withoutCache,
  bytes_per_entry: Math.round(bytes / size),
}))
