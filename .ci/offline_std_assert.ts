// Links the offline `@std/assert` stand-in (tests/_std_assert) into deno.json, or removes it.
// Why: jsr.io cannot be reached from our CI machines, so `jsr:@std/assert` cannot be downloaded
// there. Users with network access never run this and get the real package from the import map.
// Usage: deno run --allow-read --allow-write .ci/offline_std_assert.ts on|off
const mode = Deno.args[0]
if (mode !== 'on' && mode !== 'off') {
  console.error('usage: offline_std_assert.ts on|off')
  Deno.exit(2)
}
const path = new URL('../deno.json', import.meta.url)
const config = JSON.parse(await Deno.readTextFile(path))
if (mode === 'on') config.links = ['./tests/_std_assert']
else delete config.links
await Deno.writeTextFile(path, JSON.stringify(config, null, 2) + '\n')
console.log(`offline @std/assert stand-in ${mode === 'on' ? 'linked' : 'unlinked'}`)
