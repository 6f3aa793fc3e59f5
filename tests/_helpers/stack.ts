/**
 * Access to the local stack the tests run against: `tests/run.ts` boots one and names its
 * stack.json in `EDGE_AUTH_TEST_STACK` (or point that variable at the stack.json of a running
 * `deno task start`).
 *
 * @module
 */
import type { StackInfo } from '../../supabase/local/state.ts'

/** The connection details of the stack under test (the contents of its stack.json). */
export type TestStack = StackInfo

/** A user created for one test. */
export interface TestUser {
  email: string
  password: string
  id: string
}

/** Options for {@linkcode createTestUser}. */
export interface CreateTestUserOptions {
  password?: string
  userMetadata?: Record<string, unknown>
  appMetadata?: Record<string, unknown>
}

/**
 * Reads the stack's stack.json afresh on every call (a key revocation re-issues the API keys).
 *
 * @returns the stack's connection details
 * @throws Error when `EDGE_AUTH_TEST_STACK` is unset or unreadable
 */
export function testStack(): TestStack {
  const path = Deno.env.get('EDGE_AUTH_TEST_STACK')
  if (!path) {
    throw new Error(
      'EDGE_AUTH_TEST_STACK is not set: run the tests through tests/run.ts (it boots a local ' +
        'stack), or set it to the stack.json of a running stack (.local/stack.json)',
    )
  }
  try {
    return JSON.parse(Deno.readTextFileSync(path)) as TestStack
  } catch (err) {
    throw new Error(`Cannot read the stack file ${path}: ${(err as Error).message}`)
  }
}

/**
 * Whether the stack runs the real auth server. Auth-dependent tests pass
 * `ignore: !hasAuthServer`, so the suite still passes where no auth binary exists (CI).
 */
export const hasAuthServer: boolean = detectAuthServer()

function detectAuthServer(): boolean {
  const path = Deno.env.get('EDGE_AUTH_TEST_STACK')
  let reason: string
  if (!path) {
    reason = 'EDGE_AUTH_TEST_STACK is not set'
  } else {
    try {
      const info = testStack()
      if (info.authServer) return true
      // The reason may be a multi-line go install error: one line is enough here.
      reason = (info.authServerUnavailableReason ?? 'the stack runs without it').replace(
        /\s+/g,
        ' ',
      )
    } catch (err) {
      reason = (err as Error).message
    }
  }
  console.error(`tests needing the auth server are ignored: ${reason}`)
  return false
}

/**
 * Calls the stack's test-control API (`POST /_stack/<action>`).
 *
 * @param action e.g. `auth/stop`, `auth/keys`, `functions/restart`
 * @param body JSON body, e.g. `{ phase: 'rotate' }` for `auth/keys`
 * @returns the JSON answer
 * @throws Error when the stack has no control API or the action fails
 */
export async function stackControl(action: string, body?: unknown): Promise<unknown> {
  const stack = testStack()
  if (!stack.controlToken) throw new Error('This stack has no test-control API')
  const response = await fetch(`${stack.url}/_stack/${action}`, {
    method: 'POST',
    headers: { 'x-stack-control': stack.controlToken, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`Control action ${action} failed (${response.status}): ${text}`)
  return JSON.parse(text)
}

/**
 * Creates a confirmed user with a unique email through the auth admin API.
 *
 * @param options password and metadata
 * @returns the credentials and the user id
 * @throws Error when the auth server refuses
 */
export async function createTestUser(options: CreateTestUserOptions = {}): Promise<TestUser> {
  const stack = testStack()
  const email = `test-${crypto.randomUUID()}@example.com`
  const password = options.password ?? `pw-${crypto.randomUUID()}`
  const response = await fetch(`${stack.url}/auth/v1/admin/users`, {
    method: 'POST',
    headers: {
      apikey: stack.serviceRoleKey,
      Authorization: `Bearer ${stack.serviceRoleKey}`,
      'Content-Type': 'application/json',
    },
    body: JSON.stringify({
      email,
      password,
      // The admin API ignores autoconfirm: without this the password grant is refused.
      email_confirm: true,
      user_metadata: options.userMetadata,
      app_metadata: options.appMetadata,
    }),
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`Cannot create a test user (${response.status}): ${text}`)
  return { email, password, id: (JSON.parse(text) as { id: string }).id }
}
