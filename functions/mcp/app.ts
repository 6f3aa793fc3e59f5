/**
 * `POST /mcp`: an MCP server over Streamable HTTP (stateless, JSON answers) with tools over the
 * caller's notes, behind `requireUser` with the session check; `GET /mcp/.well-known/oauth-
 * protected-resource`: its RFC 9728 metadata, public. Every 401 names that metadata in its
 * challenge, which is where an MCP client starts OAuth discovery.
 *
 * @module
 */
import type { Hono } from 'hono'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'
import { type AppDeps, authFor, type Config } from '@edge-auth/edge-auth'
import {
  type AuthEnv,
  createFunctionApp,
  methodNotAllowed,
  requireUser,
} from '@edge-auth/edge-auth/hono'
import { jsonResponse } from '@edge-auth/edge-auth/http'
import { registerNoteTools } from './note_tools.ts'
import { METADATA_PATH, resourceMetadata, resourceUrls } from './resource_metadata.ts'

/**
 * Builds the `mcp` app.
 *
 * @param config read once at boot; `dbUrl` is needed by the session check and the tools
 * @param deps what a test swaps in
 * @returns the Hono app, routed under `/mcp`
 */
export function createMcpApp(config: Config, deps: AppDeps = {}): Hono<AuthEnv> {
  const auth = authFor(config, deps)
  const urls = resourceUrls(config)
  const methods = ['GET', 'POST']
  // Every 401 names the metadata in its challenge: where an MCP client starts OAuth discovery.
  const app = createFunctionApp<AuthEnv>('mcp', {
    corsOrigins: config.corsOrigins,
    methods,
    resourceMetadata: urls.metadata,
  })

  // Discovery needs no credential; its CORS is every route's (any origin by default).
  const metadata = resourceMetadata(urls)
  app.get(METADATA_PATH, () => jsonResponse(200, metadata))
  app.all(METADATA_PATH, methodNotAllowed(['GET']))

  // The user's own token and any OAuth client's: this is the route MCP clients are for.
  const authenticated = requireUser(auth, { session: 'check', clients: 'any' })

  // Stateless: a server and transport per request, so no MCP session outlives a revoked grant.
  app.post('/', authenticated, async (c) => {
    const server = new McpServer({ name: 'edge-auth-notes', version: '0.1.0' })
    registerNoteTools(server, auth.database(), c.var.auth.claims)
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    })
    await server.connect(transport)
    try {
      return await transport.handleRequest(c.req.raw)
    } finally {
      await server.close()
    }
  })
  // No server-initiated stream in stateless mode: GET is authenticated first, then 405.
  app.get('/', authenticated, methodNotAllowed(['POST']))
  app.all('/', methodNotAllowed(['POST']))
  return app
}
