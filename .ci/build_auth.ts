// Builds the pinned Supabase Auth release into the given directory the way the local stack does
// on a first start (a checkout of the tag, then `go build`), without starting anything.
// Usage: deno run --allow-all .ci/build_auth.ts <bin dir>
import { locateAuthBinary } from '../supabase/local/auth_binary.ts'

const binDir = Deno.args[0]
if (!binDir) {
  console.error('usage: build_auth.ts <bin dir>')
  Deno.exit(2)
}
const binary = await locateAuthBinary({ binDir, install: true, log: console.error })
if (binary.path === null) {
  console.error(binary.reason)
  Deno.exit(1)
}
console.log(`${binary.path}: ${binary.version}`)
