// The README's Docker recipe, as far as it runs without Docker: its signing-key commands with the
// real Supabase CLI (the version the recipe pins, installed by .ci/run under .local/supabase-cli),
// and its env file, which `functions serve --env-file` refuses if a name starts with SUPABASE_.
// tests/integration/cli_environment_test.ts runs the functions with the environment the CLI
// injects.
import { assert, assertEquals } from '@std/assert'
import { join } from 'node:path'
import { repoRoot } from '../../supabase/local/paths.ts'
import { fences, readme, section } from './markdown.ts'

const CLI = join(repoRoot, '.local', 'supabase-cli', 'node_modules', '.bin', 'supabase')
const haveCli = (() => {
  try {
    return Deno.statSync(CLI).isFile
  } catch {
    return false
  }
})()

function recipe(): string[] {
  const block = fences(section(readme(), 'Running with the Supabase CLI (Docker)'))
    .find((fence) => fence.lang === 'sh')
  assert(block, 'the Docker section has a sh block')
  return block.body.split('\n').map((line) => line.replace(/\s+#.*$/, '').trim()).filter(Boolean)
}

Deno.test('Docker recipe: pins Supabase CLI 2.117.0 and writes only names functions serve --env-file accepts', () => {
  const lines = recipe()
  const cli = lines.filter((line) => line.startsWith('npx supabase'))
  assert(cli.length >= 3, lines.join('\n'))
  for (const line of cli) assert(line.startsWith('npx supabase@2.117.0 '), line)
  const envLines = lines.filter((line) =>
    line.includes('.local/functions.env') && line.startsWith('echo')
  )
  assert(envLines.length > 0, 'the recipe writes its env file')
  for (const line of envLines) {
    const name = /echo '([A-Z0-9_]+)=/.exec(line)?.[1]
    assert(name, line)
    assert(!name.startsWith('SUPABASE_'), `${name}: the CLI refuses SUPABASE_ names`)
  }
})

Deno.test({
  name:
    'Docker recipe: its signing-key commands, run verbatim with the real CLI, leave one ES256 key in supabase/signing_keys.json',
  ignore: !haveCli && !Deno.env.get('CI'),
  async fn() {
    assert(haveCli, `the Supabase CLI is installed at ${CLI} (.ci/run does it)`)
    const dir = await Deno.makeTempDir({ prefix: 'edge-auth-cli-' })
    try {
      await Deno.mkdir(join(dir, 'supabase'))
      await Deno.copyFile(
        join(repoRoot, 'supabase', 'config.toml'),
        join(dir, 'supabase', 'config.toml'),
      )
      const keyLines = recipe().filter((line) =>
        line.includes('signing_keys.json') || line.includes('gen signing-key')
      )
      assertEquals(keyLines.length, 2, keyLines.join('\n'))
      const script = keyLines.map((line) => line.replace('npx supabase@2.117.0', CLI)).join('\n')
      const run = await new Deno.Command('sh', {
        args: ['-e', '-c', script],
        cwd: dir,
        stdin: 'null',
        stdout: 'piped',
        stderr: 'piped',
        env: { SUPABASE_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' },
      }).output()
      const output = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr)
      assertEquals(run.code, 0, output)
      const keys = JSON.parse(await Deno.readTextFile(join(dir, 'supabase', 'signing_keys.json')))
      assertEquals(keys.length, 1, output)
      assertEquals([keys[0].kty, keys[0].alg], ['EC', 'ES256'])
    } finally {
      await Deno.remove(dir, { recursive: true })
    }
  },
})
