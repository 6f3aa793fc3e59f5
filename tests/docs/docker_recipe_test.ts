// The README's Docker recipe, as far as it runs without Docker: every line run verbatim in a fresh
// clone, the CLI's with the real Supabase CLI it pins (which must stop only at Docker), and its env
// file, which `functions serve --env-file` refuses if a name starts with SUPABASE_.
// tests/integration/cli_environment_test.ts runs the functions with the environment the CLI
// injects.
import { assert, assertEquals, assertMatch } from '@std/assert'
import { join } from 'node:path'
import { runSupabaseCli, supabaseCliVersion } from '../../supabase/local/supabase_cli.ts'
import { freshClone } from './fresh_clone.ts'
import { fences, readme, section } from './markdown.ts'

const CLI_PREFIX = `npx supabase@${supabaseCliVersion} `

function recipe(): string[] {
  const block = fences(section(readme(), 'Running with the Supabase CLI (Docker)'))
    .find((fence) => fence.lang === 'sh')
  assert(block, 'the Docker section has a sh block')
  return block.body.split('\n').map((line) => line.replace(/\s+#.*$/, '').trim()).filter(Boolean)
}

Deno.test('Docker recipe: pins Supabase CLI 3.1.0, starts and serves, and writes only names functions serve --env-file accepts', () => {
  const lines = recipe()
  const cli = lines.filter((line) => line.startsWith('npx supabase'))
  for (const line of cli) assert(line.startsWith(CLI_PREFIX), line)
  assertEquals(cli.map((line) => line.split(/\s+/).slice(2, 4).join(' ')), [
    'start',
    'functions serve',
  ])
  const envLines = lines.filter((line) =>
    line.includes('.local/functions.env') && /echo /.test(line)
  )
  assert(envLines.length > 0, 'the recipe writes its env file')
  for (const line of envLines) {
    const name = /echo '([A-Z0-9_]+)=/.exec(line)?.[1]
    assert(name, line)
    assert(!name.startsWith('SUPABASE_'), `${name}: the CLI refuses SUPABASE_ names`)
  }
})

Deno.test('Docker recipe, run verbatim in a fresh clone with the real CLI: the shell lines succeed, the env file is written, each CLI command stops only for want of Docker', async () => {
  const clone = await freshClone()
  try {
    for (const line of recipe()) {
      if (line.startsWith(CLI_PREFIX)) {
        const run = await runSupabaseCli(line.slice(CLI_PREFIX.length).split(/\s+/), {
          workdir: clone,
        })
        const output = run.stdout + run.stderr
        assertMatch(output, /Cannot connect to the Docker daemon/, `${line}:\n${output}`)
        assert(!/ENOENT|failed to (read|parse)|unknown (flag|option)/i.test(output), output)
        continue
      }
      const run = await new Deno.Command('sh', {
        args: ['-e', '-c', line],
        cwd: clone,
        stdin: 'null',
        stdout: 'piped',
        stderr: 'piped',
      }).output()
      assertEquals(run.code, 0, `${line}: ${new TextDecoder().decode(run.stderr)}`)
    }
    const env = await Deno.readTextFile(join(clone, '.local', 'functions.env'))
    assertMatch(env, /^EDGE_AUTH_JWT_ISSUER=http:\/\/127\.0\.0\.1:54321\/auth\/v1\n$/)
  } finally {
    await Deno.remove(clone, { recursive: true })
  }
})
