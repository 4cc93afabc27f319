/**
 * Fuzzing the Cayenne codecs with a seeded PRNG (the seed is printed; set
 * CAYENNE_FUZZ_SEED to replay a run): random bytes, mutated LPP frames, mutated text
 * payloads and random JSON on every topic kind. `interpretPublish` must never throw and
 * must always answer a well-formed interpretation of the kind its topic allows; valid
 * inputs generated with a known meaning must read back exactly.
 */
import t from 'tap'
import { interpretJsonReadings, interpretPublish, type Interpretation } from '../../../domain/cayenne/interpret.ts'
import { encodeLpp, lppTypeTable, type LppRecord } from '../../../domain/cayenne/lpp.ts'
import { parseTopic, type CayenneTopic } from '../../../domain/cayenne/topics.ts'
import type { Reading } from '../../../domain/telemetry/telemetry-message.ts'

const seed = Number(process.env.CAYENNE_FUZZ_SEED ?? 20260501) >>> 0
t.comment(`fuzz seed ${seed} (CAYENNE_FUZZ_SEED=${seed} replays this run)`)

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function prng(s: number) {
  let a = s
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number): number => Math.floor(next() * n)
  const pick = <T>(list: readonly T[]): T => list[int(list.length)] as T
  return { next, int, pick }
}
const rnd = prng(seed)
const encoder = new TextEncoder()

const topicOf = (rest: string): CayenneTopic => {
  const topic = parseTopic(`v1/u/things/t/${rest}`)
  if (topic === null) throw new Error(rest)
  return topic
}
const targets: { topic: CayenneTopic; codec: string | null; allowed: readonly Interpretation['kind'][] }[] = [
  { topic: topicOf('data/2'), codec: null, allowed: ['readings', 'rejected'] },
  { topic: topicOf('data/2'), codec: 'lpp', allowed: ['readings', 'rejected'] },
  { topic: topicOf('digital/3'), codec: null, allowed: ['readings', 'rejected'] },
  { topic: topicOf('analog/4'), codec: 'lpp', allowed: ['readings', 'rejected'] },
  { topic: topicOf('data/json'), codec: null, allowed: ['readings', 'rejected'] },
  { topic: topicOf('response'), codec: null, allowed: ['response', 'rejected'] },
  { topic: topicOf('sys/cpu/model'), codec: null, allowed: ['sys', 'rejected'] },
  { topic: topicOf('cmd/1'), codec: null, allowed: ['ignored'] },
  { topic: topicOf('jobs.json'), codec: 'lpp', allowed: ['ignored'] },
]

const finite = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x)

/** What is wrong with an interpretation, or null when it is well formed. */
function problemWith(result: Interpretation, allowed: readonly string[]): string | null {
  if (!allowed.includes(result.kind)) return `kind ${result.kind} where ${allowed.join('/')} was expected`
  switch (result.kind) {
    case 'readings': {
      if (!Array.isArray(result.readings) || result.readings.length === 0 || result.readings.length > 1000) return 'readings: 1..1000 expected'
      for (const r of result.readings as Reading[]) {
        if (Object.keys(r).join() !== 'channel,type,unit,value') return `reading keys ${Object.keys(r).join()}`
        if (typeof r.channel !== 'string' || r.channel === '') return 'channel must be non-empty text'
        if (r.type !== null && (typeof r.type !== 'string' || r.type === '')) return 'type must be null or non-empty text'
        if (r.unit !== null && (typeof r.unit !== 'string' || r.unit === '')) return 'unit must be null or non-empty text'
        const v: unknown = r.value
        const ok = finite(v) || (typeof v === 'string' && v !== '' && v.length <= 1024) || (Array.isArray(v) && v.length >= 2 && v.length <= 4 && v.every(finite))
        if (!ok) return `bad value ${JSON.stringify(v)}`
        if (Object.is(v, -0)) return 'value -0'
      }
      return null
    }
    case 'response':
      return result.seq !== '' && typeof result.seq === 'string' && typeof result.ok === 'boolean' && (result.message === null || typeof result.message === 'string')
        ? null
        : 'bad response'
    case 'sys':
      return result.key !== '' && typeof result.value === 'string' && result.value !== '' && result.value.length <= 1024 ? null : 'bad sys'
    case 'rejected':
      return typeof result.reason === 'string' && result.reason.length > 0 && result.reason.length <= 300 ? null : `bad reason ${String(result.reason).slice(0, 80)}`
    case 'ignored':
      return null
  }
}

// --- generators -------------------------------------------------------------------

const randomBytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => rnd.int(256))

function randomRecord(): { record: LppRecord; raws: number[] } {
  const type = rnd.pick(lppTypeTable)
  const raws = type.fields.map((f) => {
    const span = 2 ** (8 * f.bytes)
    const raw = rnd.next() < 0.2 ? rnd.pick([0, span - 1, span / 2 - 1, span / 2]) : rnd.int(span)
    return f.signed && raw >= span / 2 ? raw - span : raw
  })
  const values = raws.map((raw, i) => raw / (type.fields[i] as { divisor: number }).divisor)
  return { record: { channel: rnd.int(256), type: type.name, value: values.length === 1 ? (values[0] as number) : values }, raws }
}
const randomFrame = (): Uint8Array => encodeLpp(Array.from({ length: 1 + rnd.int(8) }, () => randomRecord().record))

function mutateBytes(input: Uint8Array): Uint8Array {
  const bytes = Array.from(input)
  for (let k = 1 + rnd.int(3); k > 0; k--) {
    const at = rnd.int(bytes.length + 1)
    switch (rnd.int(6)) {
      case 0: bytes[at] = rnd.int(256); break
      case 1: bytes.length = at; break
      case 2: bytes.splice(at, 0, rnd.int(256)); break
      case 3: bytes.splice(at, 1 + rnd.int(3)); break
      case 4: bytes.splice(at, 0, ...bytes.slice(rnd.int(bytes.length + 1))); break
      default: bytes.push(...Array.from(randomBytes(1 + rnd.int(4))))
    }
  }
  return Uint8Array.from(bytes)
}

const seeds = [
  '0', 'temp,c=1', 'temp,f=2', 'temp,k=3', 'lum,lux=4', 'bp,pa=5', 'bp,hpa=6', 'accel,g,g,g=1.5,-2,0.25', 'gps,m=[27.986065,86.922623,8848]',
  'temp,null=42', '6.600', 'lt_color,null=#ff0000', '512,1023', 'ok,2otoExGxnMJz0Jn', 'error,2otoExGxn=ERROR MESSAGE', 'Python', '1.1.0',
  '[{"channel":1,"value":16.4,"type":"temp","unit":"c"},{"channel":"sys:cpu;load","value":"12"}]', '{"channel":2,"value":[1,2,3]}',
]
const alphabet = [...'0123456789,.=[]-+eE \t\n{}":;#naifNIxyzé', '\u0000', '\uFEFF', '\uD800', '1e999', 'null', 'nan', 'true', 'ok,', 'error,', '"value":', '"channel":']

function mutateText(input: string): string {
  let s = input
  for (let k = 1 + rnd.int(4); k > 0; k--) {
    const at = rnd.int(s.length + 1)
    switch (rnd.int(5)) {
      case 0: s = s.slice(0, at) + rnd.pick(alphabet) + s.slice(at); break
      case 1: s = s.slice(0, at) + s.slice(at + 1 + rnd.int(3)); break
      case 2: s = s.slice(0, at) + rnd.pick(alphabet) + s.slice(at + 1); break
      case 3: s = s.slice(0, at) + s.slice(rnd.int(s.length + 1)) + s.slice(at); break
      default: s = s.slice(0, at)
    }
  }
  return s
}
const randomText = (): string => Array.from({ length: rnd.int(40) }, () => rnd.pick(alphabet)).join('')

function randomJson(depth = 0): unknown {
  switch (rnd.int(depth > 2 ? 5 : 8)) {
    case 0: return rnd.pick([0, -0, 1, -1.5, 1e308, -1e-308, 2 ** 53, 4294967296, 0.1])
    case 1: return rnd.pick(['', ' ', '12', '1e999', 'NaN', 'sys:cpu;load', 'x'.repeat(1100), 'null'])
    case 2: return rnd.next() < 0.5
    case 3: return null
    case 4: return undefined
    case 5: return Array.from({ length: rnd.int(6) }, () => randomJson(depth + 1))
    default: {
      const o: Record<string, unknown> = {}
      for (const key of ['channel', 'value', 'type', 'unit', 'name', '__proto__', 'constructor']) if (rnd.next() < 0.6) o[key] = randomJson(depth + 1)
      return o
    }
  }
}
const jsonPayload = (): string => JSON.stringify(rnd.next() < 0.8 ? Array.from({ length: rnd.int(5) }, () => randomJson(1)) : randomJson()) ?? ''

// --- the runs ------------------------------------------------------------------------

t.test('interpretPublish never throws and always answers well formed', async (t) => {
  const failures: string[] = []
  let runs = 0
  const started = performance.now()
  const check = (payload: Uint8Array): void => {
    for (const { topic, codec, allowed } of targets) {
      runs++
      let result: Interpretation
      try {
        result = interpretPublish(topic, payload, codec)
      } catch (error) {
        failures.push(`threw ${String(error)} on ${topic.kind} ${Buffer.from(payload.subarray(0, 64)).toString('hex')}`)
        continue
      }
      const problem = problemWith(result, payload.length === 0 ? ['ignored'] : allowed)
      if (problem !== null) failures.push(`${problem} on ${topic.kind}/${codec} ${JSON.stringify(Buffer.from(payload.subarray(0, 64)).toString())}`)
    }
  }
  for (let i = 0; i < 1500; i++) {
    check(randomBytes(rnd.int(rnd.next() < 0.05 ? 3000 : 40)))
    check(mutateBytes(randomFrame()))
    check(encoder.encode(mutateText(rnd.pick(seeds))))
    check(encoder.encode(randomText()))
    check(encoder.encode(rnd.next() < 0.5 ? jsonPayload() : mutateText(jsonPayload())))
  }
  for (const size of [65535, 65536, 65537, 200000]) {
    check(new Uint8Array(size).fill(0x31))
    check(encoder.encode(`[${'['.repeat(size - 1)}`.slice(0, size)))
  }
  t.comment(`${runs} publishes in ${Math.round(performance.now() - started)} ms`)
  t.strictSame(failures.slice(0, 10), [], `${failures.length} of ${runs} publishes misbehaved`)
})

t.test('LPP frames read back exactly what was encoded', async (t) => {
  const mismatches: string[] = []
  for (let i = 0; i < 3000; i++) {
    const generated = Array.from({ length: 1 + rnd.int(10) }, randomRecord)
    const frame = encodeLpp(generated.map((g) => g.record))
    const result = interpretPublish(topicOf('data/7'), frame, 'lpp')
    const expected = generated.map(({ record }) => {
      const type = lppTypeTable.find((x) => x.name === record.type)
      return { channel: String(record.channel), value: record.value, code: type?.code }
    })
    const got = result.kind === 'readings' ? result.readings.map((r) => ({ channel: r.channel, value: r.value })) : result
    const same = result.kind === 'readings' && got instanceof Array && got.length === expected.length &&
      got.every((r, k) => r.channel === expected[k]?.channel && JSON.stringify(r.value) === JSON.stringify(expected[k]?.value) && Object.is(r.value === 0 ? 0 : r.value, r.value))
    if (!same) mismatches.push(`${Buffer.from(frame).toString('hex')}: ${JSON.stringify(got)} vs ${JSON.stringify(expected)}`)
  }
  t.strictSame(mismatches.slice(0, 5), [], `${mismatches.length} of 3000 frames differ`)
})

t.test('text and JSON payloads with a known meaning read back exactly', async (t) => {
  const mismatches: string[] = []
  const number = (): { text: string; value: number } => {
    const x = (rnd.next() - 0.5) * 10 ** rnd.int(8)
    const text = rnd.pick([x.toFixed(3), String(x), x.toExponential(4), String(Math.round(x))])
    return { text, value: Number(text) === 0 ? 0 : Number(text) }
  }
  const space = (): string => rnd.pick(['', '', ' ', '\t'])
  for (let i = 0; i < 3000; i++) {
    const count = 1 + rnd.int(4)
    const numbers = Array.from({ length: count }, number)
    const type = rnd.pick(['temp', 'accel', 'gps', 'x_y'])
    const unit = rnd.pick(['c', 'g', 'm', null])
    const list = rnd.next() < 0.5
    const units = Array.from({ length: list ? rnd.pick([0, 1]) : count }, () => unit)
    const payload = `${space()}${type}${units.map((u) => `,${space()}${u ?? 'null'}${space()}`).join('')}=${space()}` +
      (list ? `[${numbers.map((n) => `${space()}${n.text}${space()}`).join(',')}]` : numbers.map((n) => `${n.text}${space()}`).join(',')) + space()
    const value = count === 1 ? (numbers[0] as { value: number }).value : numbers.map((n) => n.value)
    const expected = { kind: 'readings', readings: [{ channel: '2', type, unit: units.length === 0 ? null : unit, value }] }
    const got = interpretPublish(topicOf('data/2'), encoder.encode(payload), null)
    if (JSON.stringify(got) !== JSON.stringify(expected)) mismatches.push(`${payload}: ${JSON.stringify(got)}`)

    const items = numbers.map((n, k) => ({ channel: rnd.next() < 0.5 ? k : `sys:cpu;${k}`, value: rnd.next() < 0.5 ? n.value : n.text, type, unit }))
    const json = interpretJsonReadings(JSON.stringify(items))
    const want = { kind: 'readings', readings: items.map((it, k) => ({ channel: String(it.channel), type, unit, value: (numbers[k] as { value: number }).value })) }
    if (JSON.stringify(json) !== JSON.stringify(want)) mismatches.push(`${JSON.stringify(items)}: ${JSON.stringify(json)}`)
  }
  t.strictSame(mismatches.slice(0, 5), [], `${mismatches.length} of 6000 payloads differ`)
})

t.test('parseTopic never throws', async (t) => {
  const parts = ['v1', 'u', 'things', 't', 'data', 'json', 'sys', 'cmd', 'response', '0', '01', '+', '#', '', 'cmd.json', '4294967296']
  let answered = 0
  for (let i = 0; i < 5000; i++) {
    const topic = Array.from({ length: rnd.int(8) }, () => (rnd.next() < 0.9 ? rnd.pick(parts) : randomText())).join('/')
    const parsed = parseTopic(topic)
    if (parsed === null || (parsed.username !== '' && parsed.thingId !== '')) answered++
  }
  t.equal(answered, 5000)
})
