// The README's Deploy section as a new user runs it: from a fresh clone (only what git would
// check out), with Supabase CLI 3.1.0, verbatim up to the network. This machine cannot reach the
// Supabase platform, so each command must get as far as reaching for it: the project's files
// parse, every file they name exists, no flag is refused and no confirmation is left unanswered.
// The migrations part runs for real: the same `db push --remote`, given the stack's database URL.
import { assert, assertEquals, assertMatch } from '@std/assert'
import { join } from 'node:path'
import { repoRoot } from '../../supabase/local/paths.ts'
import { runSupabaseCli, supabaseCliVersion } from '../../supabase/local/supabase_cli.ts'
import { freshClone } from './fresh_clone.ts'
import { fences, readme, section } from './markdown.ts'
import { hasAuthServer, testStack } from '../_helpers/stack.ts'

const CLI_PREFIX = `npx supabase@${supabaseCliVersion} `
/** A well-formed project ref and access token of nobody's. */
const REF = 'abcdefghijklmnopqrst'
const ACCESS_TOKEN = `sbp_${'0123456789abcdef'.repeat(2)}01234567`
/** What the CLI says when it reaches for the platform (API or database) and cannot. */
const NETWORK = /TransportError|Transport error|IPv6 is not supported|api\.supabase\.com/
/** What it says when the project or the command line is at fault. */
const PROJECT_FAULT =
  /ENOENT|no such file|Confirmation required|Cannot find project ref|Local database|unknown (flag|option)|failed to (read|parse) config/i

function deployCommands(): string[][] {
  const block = fences(section(readme(), 'Deploy')).find((fence) => fence.lang === 'sh')
  assert(block, 'the Deploy section has a sh block')
  return block.body.split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter(Boolean)
    .map((line) => {
      assert(line.startsWith(CLI_PREFIX), `pins the CLI: ${line}`)
      return line.slice(CLI_PREFIX.length).replaceAll('<ref>', REF).split(/\s+/)
    })
}

Deno.test('Deploy: every command is pinned to Supabase CLI 3.1.0, targets the hosted project with --remote or by linking, and confirms with --yes where it changes one', () => {
  const commands = deployCommands()
  const names = commands.map((args) => args.slice(0, 2).join(' '))
  for (
    const expected of ['login', 'link --project-ref', 'db push', 'secrets set', 'functions deploy']
  ) {
    assert(names.includes(expected), `${expected} in ${names.join(', ')}`)
  }
  const push = commands.find((args) => args[0] === 'db' && args[1] === 'push')!
  assert(push.includes('--remote'), 'db push without --remote pushes to the local stack on CLI 3')
  for (const args of commands) {
    if (['db', 'secrets', 'functions'].includes(args[0]!)) {
      assert(args.includes('--yes'), args.join(' '))
    }
  }
  const deployed = commands.find((args) => args[0] === 'functions')!.filter((arg) =>
    !arg.startsWith('-')
  ).slice(2)
  const functions = [...Deno.readDirSync(join(repoRoot, 'functions'))]
    .filter((entry) => entry.isDirectory && !entry.name.startsWith('_'))
    .map((entry) => entry.name)
  assertEquals(deployed.sort(), functions.sort(), 'deploys every function')
})

Deno.test('Deploy from a fresh clone with the real Supabase CLI 3.1.0: each command gets as far as the network (no missing file, no refused flag, no unanswered confirmation)', async () => {
  const clone = await freshClone()
  try {
    for (const args of deployCommands()) {
      // `login` opens a browser; SUPABASE_ACCESS_TOKEN is its documented alternative.
      if (args[0] === 'login') continue
      const run = await runSupabaseCli(args, {
        workdir: clone,
        env: { SUPABASE_ACCESS_TOKEN: ACCESS_TOKEN },
      })
      const output = run.stdout + run.stderr
      assert(!PROJECT_FAULT.test(output), `${args.join(' ')}:\n${output}`)
      assertMatch(output, NETWORK, `${args.join(' ')} reaches for the platform:\n${output}`)
      // What a successful link leaves behind, so the next commands find the project.
      if (args[0] === 'link') {
        await Deno.mkdir(join(clone, 'supabase', '.temp'), { recursive: true })
        await Deno.writeTextFile(join(clone, 'supabase', '.temp', 'project-ref'), REF)
      }
    }
  } finally {
    await Deno.remove(clone, { recursive: true })
  }
})

Deno.test({
  name:
    'Deploy: db push --remote=<database URL> --yes from a fresh clone, with the real CLI, against the stack the same CLI migrated -> exit 0, nothing left to push',
  ignore: !hasAuthServer,
  async fn() {
    const clone = await freshClone()
    try {
      const run = await runSupabaseCli(['db', 'push', `--remote=${testStack().dbUrl}`, '--yes'], {
        workdir: clone,
      })
      const output = run.stdout + run.stderr
      assertEquals(run.code, 0, output)
      assertMatch(output, /up to date/i)
    } finally {
      await Deno.remove(clone, { recursive: true })
    }
  },
})
