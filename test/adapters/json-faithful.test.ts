/**
 * isJsonFaithful decides whether followers may be handed the data an append was given
 * instead of the parse of its text, so it must answer exactly: true only when the JSON
 * round trip gives back an equal value, and false whenever it does not. Checked against
 * the round trip itself on seeded random values built from every kind JSON changes.
 */
import { isDeepStrictEqual } from 'node:util'
import t from 'tap'
import { isJsonFaithful } from '../../adapters/eventstore/json-faithful.ts'

const seed = Number(process.env.JSON_FAITHFUL_SEED ?? 20261207) >>> 0
t.comment(`seed ${seed} (JSON_FAITHFUL_SEED=${seed} replays this run)`)

/** mulberry32 */
function prng(s: number): (n: number) => number {
  let a = s
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return Math.floor((((x ^ (x >>> 14)) >>> 0) / 4294967296) * n)
  }
}
const int = prng(seed)

class Point {
  constructor(readonly x: number) {}
}
const leaves: (() => unknown)[] = [
  () => null,
  () => true,
  () => 'text',
  () => '\ud800 lone surrogate',
  () => 22.5,
  () => 0,
  () => -1e308,
  () => -0,
  () => NaN,
  () => Infinity,
  () => undefined,
  () => new Date(0),
  () => new Point(1),
  () => () => 1,
  () => Symbol('s'),
  () => ({ toJSON: () => 'x' }),
  () => Object.assign(Object.create(null) as object, { a: 1 }),
  // eslint-disable-next-line no-sparse-arrays
  () => [1, , 3],
]
// the first seven leaves survive the round trip, the others do not
const plain = leaves.slice(0, 7)

function randomValue(depth: number, odd: boolean): unknown {
  const kind = depth === 0 ? 0 : int(3)
  if (kind === 0) return odd && int(2) === 0 ? leaves[int(leaves.length)]!() : plain[int(plain.length)]!()
  const size = int(4)
  if (kind === 1) return Array.from({ length: size }, () => randomValue(depth - 1, odd))
  const object: Record<string, unknown> = {}
  for (let i = 0; i < size; i++) object[`k${int(6)}`] = randomValue(depth - 1, odd)
  return object
}

t.test('isJsonFaithful is true exactly when the JSON round trip gives back an equal value', async (t) => {
  let faithful = 0
  let mismatches = 0
  for (let i = 0; i < 5000; i++) {
    const value = randomValue(3, int(2) === 0)
    const text = JSON.stringify(value) as string | undefined
    const roundTrips = text !== undefined && isDeepStrictEqual(JSON.parse(text), value)
    if (isJsonFaithful(value)) faithful++
    if (isJsonFaithful(value) !== roundTrips && mismatches++ < 5) t.fail(`answers ${!roundTrips} for ${String(text)}`)
  }
  t.equal(mismatches, 0, 'no value answered wrong')
  t.ok(faithful > 500 && faithful < 4500, `both answers are exercised (${faithful} faithful of 5000)`)
})

t.test('each kind JSON changes is not faithful, alone or nested', async (t) => {
  for (const make of leaves.slice(7)) {
    const value = make()
    t.notOk(isJsonFaithful(value), `alone: ${make.toString()}`)
    t.notOk(isJsonFaithful({ readings: [{ value }] }), `nested: ${make.toString()}`)
  }
  t.ok(isJsonFaithful({ thingId: 't', readings: [{ key: '1:2:0', value: [1, 2.5], unit: null, raw: { topic: 'v1/u', payload: 'MQ==' } }] }), 'a batch of readings is')
})
