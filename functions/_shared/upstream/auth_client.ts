/**
 * Calls to Supabase Auth through supabase-js, one client per request, with a guarded `fetch`:
 * a time budget, redirects never followed (a 307/308 would re-send the password), and a record of
 * what upstream answered so failures map to the contract's statuses rather than to supabase-js's
 * error classes.
 *
 * @module
 */
import { createClient, type SupabaseClient } from '@supabase/supabase-js'
import type { Config } from '../core/config.ts'
import { ApiError, type DescriptionKey } from '../core/errors.ts'

/** What the guarded fetch saw of the last upstream exchange. */
export interface UpstreamOutcome {
  /** How the exchange ended. */
  kind: 'none' | 'response' | 'timeout' | 'network' | 'redirect'
  /** Upstream status, when a response arrived. */
  status?: number
  /** Upstream `Retry-After`, when sent with a 429 or 503. */
  retryAfter?: string
}

/** A per-request supabase-js client and the record of its upstream exchange. */
export interface UpstreamClient {
  /** The client: no storage, no auto-refresh, so it leaves no timers behind. */
  client: SupabaseClient
  /** Filled in by the guarded fetch. */
  outcome: UpstreamOutcome
}

/** Options of {@linkcode createUpstreamClient}. */
export interface UpstreamClientOptions {
  /**
   * The caller's address. With a service role key configured it is sent as `Sb-Forwarded-For`
   * (with that key as `apikey`, which is what makes Supabase honour it), so the auth server's
   * per-IP limits count the caller rather than this function.
   */
  clientAddress?: string
  /** The fetch the call goes through (default the global fetch). */
  fetch?: typeof fetch
}

/**
 * Creates a supabase-js client for one request.
 *
 * @param config the configuration (`SUPABASE_URL`, anon key, timeout)
 * @param options the caller's address and the fetch to use
 * @returns the client and its outcome record
 * @throws {ConfigError} never: `publishableKey` is required at start-up by the functions that call it
 */
export function createUpstreamClient(
  config: Config,
  options: UpstreamClientOptions = {},
): UpstreamClient {
  const outcome: UpstreamOutcome = { kind: 'none' }
  const fetchImpl = options.fetch ?? fetch
  let exchanges = 0
  const guardedFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    // One exchange per client. supabase-js retries a refresh after a network error or a 5xx, with
    // backoff, for up to 30 s (auth-js `_refreshAccessToken`): the caller would wait that long,
    // and a replayed refresh token that upstream had already rotated can trip its reuse detection
    // and revoke the session. A retry gets a local refusal that supabase-js does not retry (a
    // 4xx); the outcome of the first exchange stands.
    if (exchanges++ > 0) {
      return new Response('{"code":400,"error_code":"not_retried","msg":"not retried"}', {
        status: 400,
        headers: { 'Content-Type': 'application/json' },
      })
    }
    const signal = AbortSignal.timeout(config.upstreamTimeoutMs)
    let response: Response
    try {
      response = await fetchImpl(input, { ...init, redirect: 'manual', signal })
    } catch (error) {
      outcome.kind = signal.aborted ? 'timeout' : 'network'
      throw error
    }
    outcome.status = response.status
    outcome.retryAfter = response.headers.get('retry-after') ?? undefined
    if (response.status >= 300 && response.status < 400) {
      outcome.kind = 'redirect'
      await response.body?.cancel()
      throw new TypeError('upstream redirect refused')
    }
    outcome.kind = 'response'
    return response
  }
  const headers: Record<string, string> = {}
  let apiKey = config.publishableKey ?? ''
  if (options.clientAddress && config.secretKey) {
    apiKey = config.secretKey
    headers['Sb-Forwarded-For'] = options.clientAddress
  }
  const client = createClient(config.supabaseUrl.href, apiKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global: { fetch: guardedFetch, headers },
  })
  return { client, outcome }
}

/**
 * Maps a failed upstream exchange to the contract's answer: credential rejections become one
 * uniform 400 (`rejection`), transport failures 502/504, rate limits 429, refresh races 409.
 *
 * @param outcome what the guarded fetch recorded
 * @param rejection the fixed description for a rejected grant
 * @param cause the supabase-js error, kept for logs only
 * @returns the error to throw
 */
export function upstreamFailure(
  outcome: UpstreamOutcome,
  rejection: DescriptionKey,
  cause?: unknown,
): ApiError {
  switch (outcome.kind) {
    case 'timeout':
      return new ApiError(504, 'auth_upstream_timeout', 'upstreamTimeout', { cause })
    case 'network':
    case 'redirect':
    case 'none':
      return new ApiError(502, 'auth_upstream_unavailable', 'upstreamUnavailable', { cause })
  }
  const status = outcome.status ?? 502
  if (status === 429) {
    return new ApiError(429, 'rate_limited', 'upstreamRateLimited', {
      retryAfter: retryAfterSeconds(outcome.retryAfter, 60),
    })
  }
  if (status === 409) {
    return new ApiError(409, 'conflict', 'upstreamConflict', { retryAfter: 1 })
  }
  if (status >= 400 && status < 500) return new ApiError(400, 'invalid_grant', rejection)
  return new ApiError(502, 'auth_upstream_unavailable', 'upstreamUnavailable', { cause })
}

/** Upstream `Retry-After` in whole seconds, bounded, or the fallback. */
function retryAfterSeconds(value: string | undefined, fallback: number): number {
  const seconds = Number(value)
  return Number.isInteger(seconds) && seconds >= 0 && seconds <= 3600 ? seconds : fallback
}
