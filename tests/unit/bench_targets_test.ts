// Which measurement a throughput target of `deno task bench` is computed from: two rows measured
// side by side (a second apart) over the same rows measured a round apart, over the rows' medians.
import { assertEquals } from '@std/assert'
import { evaluateTargets, median, medianRatio } from '../bench/cases.ts'

// Ratios of rates are floating point: compared to six places.
const rounded = (value: number | null) => value === null ? null : Number(value.toFixed(6))
const t9 = (...args: Parameters<typeof evaluateTargets>) =>
  evaluateTargets(...args).find((t) => t.id === 'T9')!

Deno.test("bench T9 measured side by side -> the median of its turns' ratios, not the rounds'", () => {
  const rps = { 'ours-token': 10, factory: 10 }
  const rounds = [{ 'ours-token': 50, factory: 100 }, { 'ours-token': 60, factory: 100 }]
  const turns = [
    { 'ours-token': 95, factory: 100 },
    { 'ours-token': 40, factory: 50 },
    { 'ours-token': 91, factory: 100 },
  ]
  const target = t9(rps, null, {}, rounds, turns)
  assertEquals(rounded(target.value), 0.91)
  assertEquals(target.met, true)
})

Deno.test("bench T9 not measured side by side -> the median of the rounds' ratios", () => {
  const rounds = [{ 'ours-token': 50, factory: 100 }, { 'ours-token': 60, factory: 100 }]
  const target = t9({ 'ours-token': 90, factory: 100 }, null, {}, rounds, [])
  assertEquals(rounded(target.value), 0.55)
  assertEquals(target.met, false)
})

Deno.test("bench T9 with one round only -> the ratio of the rows' medians", () => {
  const target = t9({ 'ours-token': 90, factory: 100 }, null, {}, [{ factory: 1 }], [])
  assertEquals(rounded(target.value), 0.9)
  assertEquals(target.met, true)
})

Deno.test('bench median of an even count -> the mean of the middle two', () => {
  assertEquals(median([4, 1, 3, 2]), 2.5)
  assertEquals(median([3, 1, 2]), 2)
  assertEquals(medianRatio([{ a: 1, b: 2 }], 'a', 'b'), null)
})
