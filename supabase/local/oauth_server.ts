/**
 * The local auth server as an OAuth 2.1 authorization server, as a hosted project with the OAuth
 * server and dynamic client registration switched on: the `GOTRUE_*` settings, and the paths of
 * the gateway that an OAuth client reaches without the project's API key (it never has one).
 *
 * @module
 */

/** Path of the consent page on the demo site; the auth server appends `?authorization_id=`. */
export const consentPath = '/oauth/consent'

/**
 * The auth server's OAuth settings. The consent URL is `GOTRUE_SITE_URL` joined with
 * `GOTRUE_OAUTH_SERVER_AUTHORIZATION_PATH`, and the consent page's calls must come from the site
 * URL's origin, so the site URL is the demo site.
 *
 * @param demoUrl the demo site's origin, `http://127.0.0.1:<port>`
 * @returns the variables, overridable like any other `GOTRUE_*` default
 */
export function oauthServerEnv(demoUrl: string): Record<string, string> {
  return {
    GOTRUE_SITE_URL: demoUrl,
    GOTRUE_OAUTH_SERVER_ENABLED: 'true',
    GOTRUE_OAUTH_SERVER_ALLOW_DYNAMIC_REGISTRATION: 'true',
    GOTRUE_OAUTH_SERVER_AUTHORIZATION_PATH: consentPath,
    GOTRUE_OAUTH_SERVER_AUTHORIZATION_TTL: '10m',
    // The consent page calls the auth API from the browser with supabase-js, which sends
    // `apikey`; the hosted gateway answers those preflights itself, the auth server must allow it.
    GOTRUE_CORS_ALLOWED_HEADERS: 'apikey',
  }
}

/** The auth server's metadata documents, served under its own base path. */
const metadataDocuments = new Set([
  '/.well-known/oauth-authorization-server',
  '/.well-known/openid-configuration',
])

/**
 * Requests to `/auth/v1` an OAuth client makes without an API key: the metadata, the browser's
 * visit to the authorization endpoint, registration, the token endpoint and userinfo (which
 * carries the client's own access token).
 *
 * @param method the request's method
 * @param rest the path after `/auth/v1`
 * @returns true when the gateway lets it through without `apikey`
 */
export function isOAuthClientRoute(method: string, rest: string): boolean {
  const read = method === 'GET' || method === 'HEAD'
  if (read) {
    return metadataDocuments.has(rest) || rest === '/oauth/authorize' || rest === '/oauth/userinfo'
  }
  if (method === 'POST') {
    return rest === '/oauth/token' || rest === '/oauth/clients/register' ||
      rest === '/oauth/userinfo'
  }
  return false
}

/**
 * RFC 8414 (and OpenID Connect) discovery for an issuer with a path: a client of the issuer
 * `<gateway>/auth/v1` looks for `/.well-known/oauth-authorization-server/auth/v1` (and the
 * `openid-configuration` one) at the root, which the hosted gateway serves too.
 *
 * @param path the request's path
 * @returns the auth server's own path for that document, or null for any other path
 */
export function rootMetadataTarget(path: string): string | null {
  for (const document of metadataDocuments) {
    if (path === `${document}/auth/v1`) return document
  }
  return null
}
