/**
 * The verified identity handlers receive (`c.var.auth`), built once from the claims of a verified
 * token so handlers never read headers or raw claims themselves.
 *
 * @module
 */
import type { JWTPayload } from 'jose'

/** The claims of a verified Supabase access token: the required ones are typed as checked. */
export interface SupabaseClaims extends JWTPayload {
  /** The user id (a UUID). */
  sub: string
  /** The session id (a UUID); revocation is keyed on it. */
  session_id: string
  /** The Postgres role: `authenticated` for signed-in users. */
  role: string
  /** Expiry, seconds since the epoch. */
  exp: number
  /** Issue time, seconds since the epoch. */
  iat: number
}

/** The user part of the identity. */
export interface AuthUser {
  /** `sub`. */
  readonly id: string
  /** `email`, or null when the token has none (phone or anonymous users). */
  readonly email: string | null
  /** `role`. */
  readonly role: string
  /** `aal` (`aal1` or `aal2`), or null when absent. */
  readonly aal: string | null
  /** True unless the token says exactly `is_anonymous: false` (a missing or non-boolean claim is not trusted). */
  readonly is_anonymous: boolean
  /** `app_metadata` (set by the server: provider, roles), `{}` when absent. */
  readonly app_metadata: Readonly<Record<string, unknown>>
  /** `user_metadata` (editable by the user: never trust it for authorization), `{}` when absent. */
  readonly user_metadata: Readonly<Record<string, unknown>>
}

/** The session part of the identity. */
export interface AuthSession {
  /** `session_id`. */
  readonly id: string
  /** `iat`, seconds since the epoch. */
  readonly issued_at: number
  /** `exp`, seconds since the epoch. */
  readonly expires_at: number
}

/**
 * The OAuth client a token was issued to, when Supabase Auth issued it as an OAuth 2.1 server
 * (an MCP client, a third-party app) rather than to the user's own sign-in.
 */
export interface AuthClient {
  /** `client_id`. */
  readonly id: string
  /** The scopes the user granted (`scope`, split on spaces). */
  readonly scopes: readonly string[]
}

/** What `requireUser` puts on the context as `c.var.auth`. */
export interface AuthContext {
  /** Who the caller is. */
  readonly user: AuthUser
  /** Which session the token belongs to. */
  readonly session: AuthSession
  /** The OAuth client the token was issued to; null for the user's own sessions. */
  readonly client: AuthClient | null
  /** Every claim of the token, verified. */
  readonly claims: Readonly<SupabaseClaims>
  /** The access token itself, for calls made on the user's behalf (never log or echo it). */
  readonly token: string
}

/**
 * Builds the frozen identity of a verified token.
 *
 * @param claims the verified claims
 * @param token the token they came from
 * @returns the identity
 */
export function toAuthContext(claims: SupabaseClaims, token: string): AuthContext {
  return Object.freeze({
    user: Object.freeze({
      id: claims.sub,
      email: typeof claims.email === 'string' && claims.email !== '' ? claims.email : null,
      role: claims.role,
      aal: typeof claims.aal === 'string' ? claims.aal : null,
      is_anonymous: claims.is_anonymous !== false,
      app_metadata: objectOrEmpty(claims.app_metadata),
      user_metadata: objectOrEmpty(claims.user_metadata),
    }),
    session: Object.freeze({
      id: claims.session_id,
      issued_at: claims.iat,
      expires_at: claims.exp,
    }),
    client: clientOf(claims),
    claims: Object.freeze(claims),
    token,
  })
}

function clientOf(claims: SupabaseClaims): AuthClient | null {
  if (typeof claims.client_id !== 'string' || claims.client_id === '') return null
  const scope = typeof claims.scope === 'string' ? claims.scope : ''
  return Object.freeze({
    id: claims.client_id,
    scopes: Object.freeze(scope.split(' ').filter((value) => value !== '')),
  })
}

function objectOrEmpty(value: unknown): Readonly<Record<string, unknown>> {
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value)
  return Object.freeze(isObject ? value as Record<string, unknown> : {})
}
