// The `mcp` function's note tools take what `POST /notes` takes and refuse what it refuses: a
// body of 1 to 4000 characters counted as the column counts them (code points), with no NUL and
// no lone surrogate (PostgreSQL cannot store the one, and the other would be stored changed). A
// refused body is a tool error that names the rule, and nothing is written.
import { assert, assertEquals } from '@std/assert'
import fc from 'fast-check'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import {
  callFunction,
  createTestUser,
  hasAuthServer,
  loginUser,
  requestInit,
  testStack,
} from '../_helpers/stack.ts'

interface ToolResult {
  isError?: boolean
  content: { type: string; text: string }[]
}

/** An MCP client of the served `mcp` function, with the user's own access token. */
async function mcpClient(token: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(`${testStack().functionsUrl}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  })
  const client = new Client({ name: 'edge-auth-test', version: '1.0.0' })
  await client.connect(transport)
  return client
}

/** Runs `use` with an MCP client of a new user, and that user's access token. */
async function withNewUser(use: (client: Client, token: string) => Promise<void>): Promise<void> {
  const { access_token: token } = await loginUser(await createTestUser())
  const client = await mcpClient(token)
  try {
    await use(client, token)
  } finally {
    await client.close()
  }
}

async function addNote(client: Client, body: string): Promise<ToolResult> {
  return await client.callTool({ name: 'add_note', arguments: { body } }) as ToolResult
}

async function listedBodies(client: Client): Promise<string[]> {
  const listed = await client.callTool({ name: 'list_notes', arguments: {} }) as ToolResult
  assertEquals(listed.isError, undefined)
  return (JSON.parse(listed.content[0]!.text) as { body: string }[]).map((note) => note.body)
}

/** What `POST /notes` answers for the same body: the reference the tool must agree with. */
async function notesStatus(token: string, body: string): Promise<number> {
  const response = await callFunction('notes', requestInit({ body }, token))
  await response.body?.cancel()
  return response.status
}

const EMOJI = '\u{1F600}'

/** Bodies the column refuses or cannot store, each with the rule it breaks. */
const REFUSED: [string, string][] = [
  ['an empty body', ''],
  ['4001 ASCII characters', 'a'.repeat(4001)],
  ['4001 emoji (8002 UTF-16 units)', EMOJI.repeat(4001)],
  ['8001 ASCII characters', 'a'.repeat(8001)],
  ['a NUL', 'before\u0000after'],
  ['a lone high surrogate', 'x\uD800y'],
  ['a lone low surrogate at the end', `note\uDC00`],
]

/** Bodies the column takes, kept exactly. */
const ACCEPTED: [string, string][] = [
  ['one character', 'x'],
  ['4000 ASCII characters', 'b'.repeat(4000)],
  ['4000 emoji (8000 UTF-16 units, 4000 characters)', EMOJI.repeat(4000)],
  ['a surrogate pair and combining marks', `e\u0301 ${EMOJI} \u{10FFFF}`],
]

Deno.test({
  name:
    'MCP add_note advertises 1 to 4000 characters and refuses what POST /notes refuses (empty, over 4000 characters, NUL, lone surrogates) with a tool error and writes nothing; keeps 4000 emoji exactly',
  ignore: !hasAuthServer,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withNewUser(async (client, token) => {
      // What the client is told before it calls: the same bounds, in characters.
      const { tools } = await client.listTools()
      const schema = tools.find((tool: { name: string }) => tool.name === 'add_note')!
        .inputSchema as {
          properties: { body: { type: string; minLength: number; maxLength: number } }
          required: string[]
        }
      assertEquals(schema.properties.body.type, 'string')
      assertEquals(schema.properties.body.minLength, 1)
      assertEquals(schema.properties.body.maxLength, 4000)
      assertEquals(schema.required, ['body'])
      for (const [name, body] of REFUSED) {
        const result = await addNote(client, body)
        assertEquals(result.isError, true, `${name}: a tool error`)
        const text = result.content[0]?.text ?? ''
        assert(text.includes('body'), `${name}: the error names the field: ${text}`)
        assert(!/postgres|sqlstate|byte sequence/i.test(text), `${name}: no database detail`)
        assertEquals(await notesStatus(token, body), 400, `${name}: POST /notes refuses it too`)
      }
      assertEquals(await listedBodies(client), [], 'nothing was written')

      for (const [name, body] of ACCEPTED) {
        const result = await addNote(client, body)
        assertEquals(result.isError, undefined, `${name}: ${result.content[0]?.text}`)
        assertEquals(JSON.parse(result.content[0]!.text).body, body, `${name}: kept exactly`)
      }
      assertEquals(
        (await listedBodies(client)).sort(),
        ACCEPTED.map(([, body]) => body).sort(),
      )
    })
  },
})

Deno.test({
  name:
    'MCP add_note and POST /notes agree on generated bodies (lengths around the limit, NUL, lone surrogates anywhere): both refuse or both keep the body exactly',
  ignore: !hasAuthServer,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const unit = fc.constantFrom('a', EMOJI, '\u0000', '\uD800', '\uDFFF', 'é', '\u{10FFFF}')
    const body = fc.oneof(
      fc.array(unit, { maxLength: 12 }).map((units) => units.join('')),
      fc.tuple(fc.integer({ min: 3990, max: 4010 }), unit, fc.nat(4010)).map(
        ([length, inserted, at]) => {
          const base = [...'c'.repeat(length)]
          base.splice(Math.min(at, base.length), 0, inserted)
          return base.join('')
        },
      ),
    )
    await withNewUser(async (client, token) => {
      await fc.assert(
        fc.asyncProperty(body, async (text) => {
          const tool = await addNote(client, text)
          const status = await notesStatus(token, text)
          assertEquals(tool.isError === true, status === 400, `tool and notes agree (${status})`)
          if (status === 201) assertEquals(JSON.parse(tool.content[0]!.text).body, text)
        }),
        { numRuns: 40 },
      )
    })
  },
})
