// Which measurement a throughput target of `deno task bench` is computed from: two rows measured
// side by side (a second apart) over the same rows measured a round apart, over the rows' medians;
// and that a ratio is the median of the paired ratios, not the ratio of the medians.
import { assertEquals } from '@std/assert'
import fc from 'fast-check'
import { evaluateTargets, median, medianRatio } from '../bench/cases.ts'

// Ratios of rates are floating point: compared to six places.
const rounded = (value: number | null) => value === null ? null : Number(value.toFixed(6))
const target = (id: string, ...args: Parameters<typeof evaluateTargets>) =>
  evaluateTargets(...args).find((t) => t.id === id)!

Deno.test("bench T9 measured side by side -> the median of its turns' ratios, not the rounds'", () => {
  const rps = { 'ours-token': 10, factory: 10 }
  const rounds = [{ 'ours-token': 50, factory: 100 }, { 'ours-token': 60, factory: 100 }]
  // Ratios 0.9, 0.8 and 0.95: their median is 0.9; the ratio of the medians would be 80/100.
  const turns: Record<string, number>[] = [
    { 'ours-token': 45, factory: 50 },
    { 'factory-header': 10, factory: 100 },
    { 'ours-token': 80, factory: 100 },
    { 'ours-check': 5, factory: 100 },
    { 'ours-token': 190, factory: 200 },
  ]
  const t9 = target('T9', rps, null, {}, rounds, turns)
  assertEquals(rounded(t9.value), 0.9)
  assertEquals(t9.met, true)
  assertEquals(rounded(target('T10', rps, null, {}, rounds, turns).value), null)
})

Deno.test("bench T9 not measured side by side -> the median of the rounds' ratios", () => {
  const rounds = [{ 'ours-token': 50, factory: 100 }, { 'ours-token': 60, factory: 100 }]
  const t9 = target('T9', { 'ours-token': 90, factory: 100 }, null, {}, rounds, [])
  assertEquals(rounded(t9.value), 0.55)
  assertEquals(t9.met, false)
})

Deno.test("bench T9 with no round holding both rows -> the ratio of the rows' medians", () => {
  const t9 = target('T9', { 'ours-token': 90, factory: 100 }, null, {}, [{ factory: 1 }], [])
  assertEquals(rounded(t9.value), 0.9)
  assertEquals(t9.met, true)
})

Deno.test('bench median of an even count -> the mean of the middle two', () => {
  assertEquals(median([4, 1, 3, 2]), 2.5)
  assertEquals(median([3, 1, 2]), 2)
  assertEquals(medianRatio([{ a: 1, b: 2 }], 'a', 'b'), null)
})

Deno.test('bench T9 and T10 over generated turns -> the median of the turns of each row', () => {
  const rate = fc.integer({ min: 1, max: 100_000 })
  const turn = fc.tuple(fc.constantFrom('factory-header', 'ours-token', 'ours-check'), rate, rate)
    .map(([row, rowRate, baseline]) => ({ [row]: rowRate, factory: baseline }))
  fc.assert(fc.property(fc.array(turn, { maxLength: 40 }), (turns) => {
    for (const [id, row] of [['T9', 'ours-token'], ['T10', 'ours-check']] as const) {
      // The oracle: sort the row's own ratios and take the middle.
      const ratios = turns.filter((t) => row in t).map((t) => t[row]! / t.factory!).sort((a, b) =>
        a - b
      )
      const half = ratios.length / 2
      const expected = ratios.length < 2
        ? 0.5 // too few turns: the rounds' ratio below decides
        : ratios.length % 2
        ? ratios[Math.floor(half)]!
        : (ratios[half - 1]! + ratios[half]!) / 2
      const rounds = [{ [row]: 50, factory: 100 }, { [row]: 50, factory: 100 }]
      assertEquals(rounded(target(id, {}, null, {}, rounds, turns).value), rounded(expected))
    }
  }))
})
