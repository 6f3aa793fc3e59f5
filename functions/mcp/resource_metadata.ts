/**
 * RFC 9728 protected-resource metadata of the `mcp` function: where an OAuth client finds the
 * authorization server for this resource, and the challenge parameter that points it there.
 *
 * @module
 */
import type { Config } from '@edge-auth/edge-auth'

/** Where the metadata is served, under the function's own path (a function owns no other). */
export const METADATA_PATH = '/.well-known/oauth-protected-resource'

/** The scopes the project's auth server supports (it has no custom scopes). */
export const SCOPES_SUPPORTED = ['openid', 'profile', 'email', 'phone', 'offline_access'] as const

/** The public URLs of the resource, from the project URL. */
export interface ResourceUrls {
  /** `<SUPABASE_URL>/functions/v1/mcp`: the resource identifier and the MCP endpoint. */
  resource: string
  /** The metadata document's URL, named in every 401 challenge. */
  metadata: string
  /** The project's auth server, the issuer of its tokens. */
  issuer: string
}

/**
 * The resource's public URLs.
 *
 * @param config the function's configuration
 * @returns the URLs
 */
export function resourceUrls(config: Config): ResourceUrls {
  const base = config.supabaseUrl.href.replace(/\/+$/, '')
  const resource = `${base}/functions/v1/mcp`
  return { resource, metadata: `${resource}${METADATA_PATH}`, issuer: config.issuer }
}

/**
 * The metadata document (RFC 9728 §2).
 *
 * @param urls the resource's URLs
 * @returns the JSON body
 */
export function resourceMetadata(urls: ResourceUrls): Record<string, unknown> {
  return {
    resource: urls.resource,
    authorization_servers: [urls.issuer],
    scopes_supported: [...SCOPES_SUPPORTED],
    bearer_methods_supported: ['header'],
    resource_name: 'edge-auth notes (MCP)',
  }
}
