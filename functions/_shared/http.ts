/**
 * Framework-free request and response helpers of edge-auth: JSON responses with the security
 * headers, the rendering of an `ApiError`, strict JSON bodies (declared string fields,
 * size cap, a 4xx naming the field for anything else) and the caller's address.
 *
 * @example A JSON body with one required field
 * ```ts
 * import { jsonResponse, readJsonBody } from '@edge-auth/edge-auth/http'
 *
 * const fields = { body: { required: true, maxLength: 1000 } } as const
 * export async function create(request: Request): Promise<Response> {
 *   const { body } = await readJsonBody(request, { fields })
 *   return jsonResponse(201, { body })
 * }
 * ```
 *
 * @module
 */
export { errorResponse, jsonResponse, SECURITY_HEADERS } from './core/responses.ts'
export {
  type BodyFields,
  isStorableText,
  type JsonBodyOptions,
  maxJsonBodyBytes,
  readJsonBody,
  type StringField,
} from './http/json_body.ts'
export { callerAddress } from './http/client_address.ts'
export { anyOriginHeaders } from './http/cors.ts'
