// Ports for the local stack's listeners: picked below the kernel's ephemeral range, where no
// outgoing connection can take one between the pick and the bind, and never handed out twice.
import { assert, assertEquals } from '@std/assert'
import { freePort, portFree } from '../../supabase/local/ports.ts'

const ephemeralStart = Number(
  Deno.readTextFileSync('/proc/sys/net/ipv4/ip_local_port_range').trim().split(/\s+/)[0],
)

Deno.test('freePort, 300 times -> distinct ports below the ephemeral range, each free when given', () => {
  const ports: number[] = []
  for (let i = 0; i < 300; i++) {
    const port = freePort()
    assert(portFree(port), `port ${port} was handed out taken`)
    ports.push(port)
  }
  assertEquals(new Set(ports).size, ports.length, 'a port was handed out twice')
  const outside = ports.filter((port) => port < 10_000 || port >= ephemeralStart)
  assertEquals(outside, [], `ports outside 10000..${ephemeralStart - 1}`)
})
