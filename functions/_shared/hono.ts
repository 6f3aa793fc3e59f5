/**
 * The Hono adapter of edge-auth: {@linkcode requireUser} and {@linkcode requireCredentials} put a
 * verified caller on `c.var.auth` or `c.var.credential`, and {@linkcode createFunctionApp} is an
 * app with CORS, security headers, JSON 404/405 and the error rendering already in place;
 * {@linkcode serveFunction} is a function's default export.
 *
 * @example A function behind the token and session checks
 * ```ts
 * import { authFromConfig, loadConfig } from '@edge-auth/edge-auth'
 * import {
 *   type AuthEnv,
 *   createFunctionApp,
 *   methodNotAllowed,
 *   requireUser,
 *   serveFunction,
 * } from '@edge-auth/edge-auth/hono'
 *
 * export default serveFunction('hello', () => {
 *   const config = loadConfig(Deno.env, { require: ['dbUrl'] })
 *   const auth = authFromConfig(config)
 *   auth.warmUp() // the route checks sessions: connect now, not on the first request
 *   const app = createFunctionApp<AuthEnv>('hello', { corsOrigins: '*', methods: ['GET'] })
 *   app.get('/', requireUser(auth, { session: 'check' }), (c) => c.json({ hello: c.var.auth.user.email }))
 *   app.all('/', methodNotAllowed(['GET']))
 *   return app
 * })
 * ```
 *
 * @module
 */
export {
  type AuthEnv,
  createErrorRenderer,
  createFunctionApp,
  type CredentialEnv,
  type FunctionAppOptions,
  methodNotAllowed,
  requireCredentials,
  requireUser,
  serveFunction,
} from './hono/adapter.ts'
