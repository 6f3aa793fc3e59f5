// A JWKS server on a free loopback port, with the failure modes a JWKS endpoint can show (slow, huge, wrong type, redirect, down) and a
// request counter (J12, T16, T25), plus the test clock and configuration helpers of the key tests.
import type { Clock } from '../../functions/_shared/core/clock.ts'
import type { JWK } from 'jose'
import { type Config, loadConfig } from '../../functions/_shared/core/config.ts'
import { SUPABASE_URL } from './keys.ts'
import { closedPort, type LocalServerOptions, startLocalServer } from './local_server.ts'

/** How the server answers. */
export type JwksMode =
  | 'ok'
  | '500'
  | '503'
  | '404'
  | '302'
  | 'html'
  | 'garbage'
  | 'null'
  | 'bad'
  | 'keys-null'
  | 'keys-null-member'
  | 'empty'
  | 'private'
  | 'slow'
  | 'huge'

/** What mode `huge` offers before it ends its body: far more than any reader should take. */
export const HUGE_JWKS_BYTES = 100_000_000

/** A running JWKS server. */
export interface JwksServer {
  /** The JWKS URL. */
  url: string
  /** Requests received so far. */
  readonly count: number
  /** The current mode; switch it between requests. */
  mode: JwksMode
  /** The published keys (mode `ok` and `slow`); mutate or replace to rotate. */
  keys: JWK[]
  /** Private keys served in mode `private`. */
  privateKeys: JWK[]
  /** Delay of mode `slow`, in milliseconds. */
  delayMs: number
  /** Where mode `302` points. */
  redirectTo: string
  /** Bytes produced so far by mode `huge` (proves the reader stopped early). */
  readonly hugeBytesSent: number
  /** Bodies of mode `huge` whose connection the reader closed before their end. */
  readonly hugeBodiesAbandoned: number
  close(): Promise<void>
}

/** Starts a JWKS server publishing `keys` (on a free port, or the given one). */
export function startJwksServer(keys: JWK[], options: LocalServerOptions = {}): JwksServer {
  let hugeBytes = 0
  let hugeAbandoned = 0
  const state = {
    mode: 'ok' as JwksMode,
    keys,
    privateKeys: [] as JWK[],
    delayMs: 1000,
    redirectTo: 'http://169.254.169.254/',
  }
  const json = (body: string) =>
    new Response(body, { headers: { 'Content-Type': 'application/json' } })
  const server = startLocalServer(async () => {
    switch (state.mode) {
      case 'ok':
        return json(JSON.stringify({ keys: state.keys }))
      case '500':
      case '503':
      case '404':
        return new Response('error', { status: Number(state.mode) })
      case '302':
        return new Response(null, { status: 302, headers: { Location: state.redirectTo } })
      case 'html':
        return new Response('<html>maintenance</html>', {
          headers: { 'Content-Type': 'text/html' },
        })
      case 'garbage':
        return json('{')
      case 'null':
        return json('null')
      case 'bad':
        return json('{}')
      case 'keys-null':
        return json('{"keys":null}')
      case 'keys-null-member':
        return json('{"keys":[null]}')
      case 'empty':
        return json('{"keys":[]}')
      case 'private':
        return json(JSON.stringify({ keys: state.privateKeys }))
      case 'slow':
        await new Promise((resolve) => setTimeout(resolve, state.delayMs))
        return json(JSON.stringify({ keys: state.keys }))
      case 'huge': {
        // HUGE_JWKS_BYTES of JSON, produced only as fast as the socket takes it.
        const chunk = new TextEncoder().encode(`{"kid":"${'x'.repeat(65_000)}"},`)
        let sent = 0
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent === 0) controller.enqueue(new TextEncoder().encode('{"keys":['))
            if (sent > HUGE_JWKS_BYTES) return controller.close()
            controller.enqueue(chunk)
            sent += chunk.byteLength
            hugeBytes += chunk.byteLength
          },
          cancel() {
            hugeAbandoned++
          },
        })
        return new Response(body, { headers: { 'Content-Type': 'application/json' } })
      }
    }
  }, options)
  return {
    url: `${server.url}/auth/v1/.well-known/jwks.json`,
    get count() {
      return server.requests.length
    },
    get mode() {
      return state.mode
    },
    set mode(mode: JwksMode) {
      state.mode = mode
    },
    get keys() {
      return state.keys
    },
    set keys(value: JWK[]) {
      state.keys = value
    },
    get privateKeys() {
      return state.privateKeys
    },
    set privateKeys(value: JWK[]) {
      state.privateKeys = value
    },
    get delayMs() {
      return state.delayMs
    },
    set delayMs(value: number) {
      state.delayMs = value
    },
    get redirectTo() {
      return state.redirectTo
    },
    set redirectTo(value: string) {
      state.redirectTo = value
    },
    get hugeBytesSent() {
      return hugeBytes
    },
    get hugeBodiesAbandoned() {
      return hugeAbandoned
    },
    close: () => server.close(),
  }
}

/** A JWKS URL where nothing listens (connection refused): the "down" mode. */
export function downJwksUrl(): string {
  return `http://127.0.0.1:${closedPort()}/auth/v1/.well-known/jwks.json`
}

/** A clock the test moves by hand, shared by the key store, verifier and session cache. */
export class ManualClock implements Clock {
  /** Current time in milliseconds. */
  time: number
  constructor(start = Date.now()) {
    this.time = start
  }
  /** The current time. */
  readonly now = (): number => this.time
  /** Moves time forward by `ms` and resolves at once: nothing waits on the wall clock. */
  readonly sleep = (ms: number): Promise<void> => {
    if (ms > 0) this.time += ms
    return Promise.resolve()
  }
  /** Moves time forward. */
  advance(ms: number): void {
    this.time += ms
  }
}

/** A configuration from test variables (no `Deno.env`), with `SUPABASE_URL` preset. */
export function testConfig(vars: Record<string, string | undefined> = {}): Config {
  const env: Record<string, string | undefined> = { SUPABASE_URL, ...vars }
  return loadConfig({ get: (name) => env[name] })
}

/** A fetch that counts calls before delegating to the global fetch. */
export function countingFetch(): { fetch: typeof fetch; readonly calls: number } {
  let calls = 0
  return {
    fetch: (input, init) => {
      calls++
      return fetch(input, init)
    },
    get calls() {
      return calls
    },
  }
}
