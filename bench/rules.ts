/**
 * `npm run bench:rules`: readings per second through rule evaluation (RuleEngine.onReadings
 * and the appends it makes), on real SQLite stores in a temp dir, in one run:
 *
 *   1 rule        one store holding one rule on the sensor the readings come from
 *   100k rules    another store holding the same rule plus 100,000 rules on other things
 *
 * Both engines stay loaded for the whole run (the same heap for both sides) and the rounds
 * alternate; the median round of each counts. Readings come in batches of 100, as the
 * telemetry processor hands them over, in two runs: a slow wave through the rule's band
 * (15 < x < 30), so about 2 in 100 readings fire or re-arm the rule and are appended
 * (durably: each waits for its commit); then a steady value that changes nothing, which is
 * the evaluation alone. Target: 100k rules ≤ 1.1× the time of 1 rule, in both.
 * BENCH_RULES sets the other rules' count.
 * Exits 0 whatever the figures.
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteEventStore } from '../adapters/eventstore/sqlite.ts'
import { SqliteReadStore } from '../adapters/readstore/sqlite.ts'
import { openDatabase } from '../adapters/sqlite/database.ts'
import type { EventMetadata, EventStore, EventToAppend, RecordedEvent } from '../domain/ports/event-store.ts'
import type { Trigger } from '../domain/rule/conditions.ts'
import { ruleStreamName, type RuleCreated, type RuleDefinition, type RuleEvent } from '../domain/rule/rule.ts'
import type { DocumentChange, ReadStore } from '../domain/ports/read-store.ts'
import { rulesProjection } from '../projections/rules.ts'
import type { RecordedReading } from '../domain/ports/reading-hook.ts'
import { RuleEngine } from '../streams/rules/rule-engine.ts'

const OTHER_RULES = Number(process.env.BENCH_RULES ?? 100_000)
const WAVE_READINGS = 6_000
const STEADY_READINGS = 50_000
const BATCH = 100
const ROUNDS = 5
const TARGET = 1.1
const SENSOR = 'bench-sensor'
const root = mkdtempSync(join(tmpdir(), 'capsicum-bench-rules-'))
const silent = { info: () => {}, warn: () => {}, error: () => {} }
const clock = new Date('2026-05-01T00:00:00.000Z')
const metadata: EventMetadata = {
  actor: { type: 'system', id: 'bench' },
  account_id: 'bench-account',
  client_id: null,
  correlation_id: 'bench',
  causation_id: 'bench',
  time: clock.toISOString(),
}

const between = (thingId: string, channel: string): Trigger => ({
  thingId,
  channel,
  unit: null,
  geofence: false,
  conditions: [
    { operator: 'gt', value: '15' },
    { operator: 'lt', value: '30' },
  ],
})

const definitionOf = (trigger: Trigger, title: string): RuleDefinition => ({
  title,
  enabled: true,
  triggers: [trigger],
  triggersCondition: 'any',
  cooldownSeconds: null,
  actions: [{ thingId: 'bench-lamp', channel: '3', unit: null, value: 1 }],
  notifications: [{ method: 'email', value: 'ops@example.com', body: null }],
  httpPush: [],
})

const created = (ruleId: string, definition: RuleDefinition): EventToAppend<RuleCreated> => ({
  id: randomUUID(),
  type: 'RuleCreated',
  data: { ruleId, accountId: 'bench-account', definition, createdAt: clock.toISOString() },
  metadata,
})

/**
 * The bench rule is created through the log; the other rules only as the rules read model
 * would hold them (folded by the projection itself from generated RuleCreated events,
 * committed at the log's head), which is where the engine loads its memory from at start.
 * 100,000 appends would take most of the minute this bench has; loading is the same.
 */
async function seed(eventStore: EventStore, readStore: ReadStore, rules: readonly { ruleId: string; definition: RuleDefinition }[]): Promise<void> {
  const [bench, ...others] = rules
  const appended = await eventStore.appendToStream(ruleStreamName(bench!.ruleId), [created(bench!.ruleId, bench!.definition)], {
    expectedRevision: 'no_stream',
  })
  const benchEvent = (await eventStore.readStream(ruleStreamName(bench!.ruleId))) as RecordedEvent<RuleEvent>[]
  const documentOf = (event: RecordedEvent<RuleEvent>) => rulesProjection.evolve(null, event)!
  const changes: DocumentChange[] = [{ collection: rulesProjection.collection, id: bench!.ruleId, doc: documentOf(benchEvent[0]!), position: appended.position }]
  for (const { ruleId, definition } of others) {
    const event = { ...created(ruleId, definition), streamName: ruleStreamName(ruleId), revision: 0, position: appended.position } as RecordedEvent<RuleEvent>
    changes.push({ collection: rulesProjection.collection, id: ruleId, doc: documentOf(event), position: appended.position })
  }
  await readStore.ensureCollection({ name: rulesProjection.collection, indexes: rulesProjection.indexes })
  await readStore.commit(changes, new Map([[rulesProjection.name, { position: appended.position, version: rulesProjection.version }]]))
}

async function open(name: string, otherRules: number) {
  const db = openDatabase(join(root, name))
  const eventStore = new SqliteEventStore(db)
  const readStore = new SqliteReadStore(db)
  const rules = [{ ruleId: randomUUID(), definition: definitionOf(between(SENSOR, '1'), 'The bench rule') }]
  for (let i = 0; i < otherRules; i++) {
    rules.push({ ruleId: randomUUID(), definition: definitionOf(between(`thing-${i}`, String(i % 8)), `Rule ${i}`) })
  }
  const seeding = performance.now()
  await seed(eventStore, readStore, rules)
  const seeded = performance.now()
  const engine = new RuleEngine({ eventStore, readStore, now: () => clock, newId: randomUUID, logger: silent })
  await engine.start()
  const started = performance.now()
  let offset = 0
  const start = Date.parse('2026-05-01T00:00:00.000Z')
  /** The next `count` readings of the sensor: a wave of period 200 through the band, or a steady 50. */
  const readings = (count: number, wave: boolean): RecordedReading[] =>
    Array.from({ length: count }, () => {
      offset += 1
      return {
        key: `0:${offset}:0`,
        partition: 0,
        offset,
        index: 0,
        thingId: SENSOR,
        accountId: 'bench-account',
        channel: '1',
        type: 'temp',
        unit: 'c',
        value: wave ? Math.round((22 + 20 * Math.sin((2 * Math.PI * offset) / 200)) * 10) / 10 : 50,
        at: new Date(start + offset * 1000).toISOString(),
      }
    })
  /** Readings per second of one round. */
  const round = async (count: number, wave: boolean): Promise<number> => {
    const batches: RecordedReading[][] = []
    const all = readings(count, wave)
    for (let i = 0; i < all.length; i += BATCH) batches.push(all.slice(i, i + BATCH))
    const t0 = performance.now()
    for (const batch of batches) await engine.onReadings(batch)
    return count / ((performance.now() - t0) / 1000)
  }
  const firings = async () => (await eventStore.readStream(ruleStreamName(rules[0]!.ruleId))).length - 1
  return {
    round,
    firings,
    seedMs: seeded - seeding,
    startMs: started - seeded,
    async close() {
      await engine.stop()
      await eventStore.close()
      await readStore.close()
      db.close()
    },
  }
}

type Side = Awaited<ReturnType<typeof open>>

/** Alternating rounds (which side goes first alternates too, so drift in load hits both alike); medians. */
async function compare(one: Side, many: Side, count: number, wave: boolean) {
  await one.round(count, wave)
  await many.round(count, wave)
  const rates = { one: [] as number[], many: [] as number[] }
  for (let r = 0; r < ROUNDS; r++) {
    const order: ['one' | 'many', Side][] = [['one', one], ['many', many]]
    if (r % 2 === 1) order.reverse()
    for (const [key, side] of order) rates[key].push(await side.round(count, wave))
  }
  return { one: median(rates.one), many: median(rates.many), rates }
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const fmt = (n: number) => Math.round(n).toLocaleString('en-US')

const one = await open('one', 0)
const many = await open('many', OTHER_RULES)
console.log(`seeded ${fmt(OTHER_RULES + 1)} rules in ${fmt(many.seedMs)} ms; the engine loaded them in ${fmt(many.startMs)} ms`)
try {
  const report = (what: string, count: number, result: Awaited<ReturnType<typeof compare>>) => {
    const ratio = result.one / result.many
    console.log(`${what}: ${fmt(count)} readings per round, median of ${ROUNDS} (load ${loadavg()[0]!.toFixed(2)})`)
    console.log(`  1 rule                             ${fmt(result.one).padStart(9)} readings/s   (rounds ${result.rates.one.map(fmt).join(', ')})`)
    console.log(`  1 rule + ${fmt(OTHER_RULES)} rules elsewhere   ${fmt(result.many).padStart(9)} readings/s   (rounds ${result.rates.many.map(fmt).join(', ')})`)
    console.log(`  slowdown ${ratio.toFixed(3)}x (target <= ${TARGET}x): ${ratio <= TARGET ? 'met' : 'NOT met'}`)
    return ratio
  }
  report('evaluation + appends (the rule fires or re-arms at ~2% of readings)', WAVE_READINGS, await compare(one, many, WAVE_READINGS, true))
  report('evaluation only (readings that change nothing)', STEADY_READINGS, await compare(one, many, STEADY_READINGS, false))
  console.log(`the bench rule fired or re-armed ${fmt(await one.firings())} and ${fmt(await many.firings())} times (the same readings: must be equal)`)
} finally {
  await one.close()
  await many.close()
  rmSync(root, { recursive: true, force: true })
}
