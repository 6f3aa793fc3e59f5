// The README's curl walkthrough, run as written against the test stack: every ```sh block of the
// section, in order, in one bash process (later steps use the shell variables of earlier ones),
// with the HTTP statuses and error codes each step printed compared with its ```text block.
// Tokens, ids and dates differ from run to run and are not compared.
import { assert, assertEquals } from '@std/assert'
import { join } from 'node:path'
import { createTestUser, hasAuthServer, testStack } from '../_helpers/stack.ts'
import { fences, readme, section } from './markdown.ts'

const heading = 'Try it: the session lifecycle with curl'

/** One step of the walkthrough: its commands and the output the README shows for them. */
interface Step {
  commands: string
  /** The ```text block right after the commands, if any. */
  expected: string | null
}

function walkthroughSteps(): Step[] {
  // The walkthrough ends where a subsection (e.g. the browser demo) begins: nothing after it is
  // a step to run.
  const blocks = fences(section(readme(), heading, { withoutSubsections: true }))
  const steps: Step[] = []
  for (let i = 0; i < blocks.length; i++) {
    const block = blocks[i]!
    if (block.lang !== 'sh' && block.lang !== 'bash' && block.lang !== 'shell') continue
    const next = blocks[i + 1]
    const expected = next?.lang === 'text' ? next.body : null
    steps.push({ commands: block.body, expected })
  }
  return steps
}

/** `HTTP/1.1 204 No Content` gives 204; the status lines of curl `-i` / `-D -`. */
function statuses(output: string): number[] {
  return [...output.matchAll(/^HTTP\/[\d.]+ (\d{3})\b/gm)].map((match) => Number(match[1]))
}

/** The `error` codes of JSON error bodies (`"error":"invalid_token"`), in order. */
function errorCodes(output: string): string[] {
  return [...output.matchAll(/"error"\s*:\s*"([a-z_]+)"/g)].map((match) => match[1]!)
}

/** The credentials the walkthrough logs in with (`-d '{"email":…,"password":…}'`). */
function walkthroughCredentials(steps: Step[]): { email: string; password: string } {
  for (const step of steps) {
    const match = /"email"\s*:\s*"([^"]+)"\s*,\s*"password"\s*:\s*"([^"]+)"/.exec(step.commands)
    if (match) return { email: match[1]!, password: match[2]! }
  }
  throw new Error(`No login with {"email":…,"password":…} found in "${heading}"`)
}

/** The walkthrough runs against `deno task start`, which has the demo user; a test stack has not. */
async function ensureUser(credentials: { email: string; password: string }): Promise<void> {
  try {
    await createTestUser(credentials)
  } catch (error) {
    // Already there (the demo user of `deno task start`): nothing to do.
    if (!/email_exists|already/.test((error as Error).message)) throw error
  }
}

function commandExists(name: string): boolean {
  try {
    const output = new Deno.Command('bash', { args: ['-c', `command -v ${name}`] }).outputSync()
    return output.code === 0
  } catch {
    return false
  }
}

Deno.test('README walkthrough: the section has sh steps with text outputs that show HTTP statuses', () => {
  const steps = walkthroughSteps()
  assert(
    steps.length > 0,
    `"${heading}" has no \`\`\`sh blocks (is WALKTHROUGH_PLACEHOLDER still there?)`,
  )
  const shown = steps.flatMap((step) => statuses(step.expected ?? ''))
  assert(shown.length > 0, 'the text blocks show at least one HTTP status line')
  for (const step of steps) {
    // A step whose curl prints status lines must show its output, or nothing would be compared.
    if (/\bcurl\b.*\s(-i|--include|-D -)(\s|$)/m.test(step.commands)) {
      assert(step.expected !== null, `a \`\`\`text block follows:\n${step.commands}`)
    }
  }
})

Deno.test({
  name:
    'README walkthrough: run as written against the stack -> every step prints the HTTP statuses and error codes the README shows',
  ignore: !hasAuthServer,
  async fn() {
    const stack = testStack()
    const steps = walkthroughSteps()
    assert(steps.length > 0, `"${heading}" has no \`\`\`sh blocks`)
    for (const tool of ['bash', 'curl', 'jq']) {
      assert(
        commandExists(tool),
        `${tool} is needed to run the walkthrough (apt-get install -y ${tool})`,
      )
    }
    await ensureUser(walkthroughCredentials(steps))

    // One script, one bash: shell variables flow from step to step as in a terminal. `API` is
    // read-only, so the README's own `API=http://127.0.0.1:54321` cannot move the run off the test
    // stack (bash reports the assignment and carries on).
    const marker = (i: number) => `@@edge-auth-walkthrough-step-${i}@@`
    const script = [
      `declare -r API=${JSON.stringify(stack.url)}`,
      ...steps.flatMap((step, i) => [`printf '\\n%s\\n' '${marker(i)}'`, step.commands]),
      `printf '\\n%s\\n' '${marker(steps.length)}'`,
    ].join('\n')
    const workDir = await Deno.makeTempDir({ prefix: 'edge-auth-walkthrough-' })
    // Like the repository root after `deno task start`: the git-ignored .local/ exists there.
    await Deno.mkdir(join(workDir, '.local'))
    try {
      const output = await new Deno.Command('bash', {
        args: ['-c', script],
        cwd: workDir, // the walkthrough writes .local/session.json under the current directory
        clearEnv: true,
        env: {
          PATH: Deno.env.get('PATH') ?? '/usr/bin:/bin',
          HOME: workDir,
          LC_ALL: 'C.UTF-8',
          NO_PROXY: '127.0.0.1,localhost',
        },
        stdout: 'piped',
        stderr: 'piped',
        signal: AbortSignal.timeout(120_000),
      }).output()
      const stdout = new TextDecoder().decode(output.stdout)
      const stderr = new TextDecoder().decode(output.stderr)
      assert(stdout.includes(marker(steps.length)), `the walkthrough ran to its end:\n${stderr}`)

      for (let i = 0; i < steps.length; i++) {
        const step = steps[i]!
        const from = stdout.indexOf(marker(i)) + marker(i).length
        const actual = stdout.slice(from, stdout.indexOf(marker(i + 1)))
        const expected = step.expected ?? ''
        const context = `step ${i + 1}:\n${step.commands}\n--- printed ---\n${
          actual.trim().slice(0, 3000)
        }\n--- stderr ---\n${stderr.slice(0, 1000)}`
        assertEquals(statuses(actual), statuses(expected), `HTTP statuses of ${context}`)
        assertEquals(errorCodes(actual), errorCodes(expected), `error codes of ${context}`)
      }
    } finally {
      await Deno.remove(workDir, { recursive: true })
    }
  },
})
