/**
 * The rule engine, fed as the telemetry processor feeds it (onReadings with recorded
 * readings), on a real SQLite store: firing, re-arming, cooldown, any/all, many rules,
 * disabled and deleted rules, redeliveries, restarts, and the what-if agreeing with it.
 */
import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { SqliteEventStore } from '../../adapters/eventstore/sqlite.ts'
import { SqliteReadStore } from '../../adapters/readstore/sqlite.ts'
import { openDatabase } from '../../adapters/sqlite/database.ts'
import type { EventStore } from '../../domain/ports/event-store.ts'
import type { ReadStore } from '../../domain/ports/read-store.ts'
import { handleCommand } from '../../commands/handle-command.ts'
import { simulateRule } from '../../commands/rule/simulate-rule.ts'
import type { Trigger } from '../../domain/rule/conditions.ts'
import { ruleDecider, ruleStreamName, type RuleCommand, type RuleDefinition } from '../../domain/rule/rule.ts'
import { asAnyProjection } from '../../projections/projection.ts'
import { ProjectionRunner } from '../../projections/runner.ts'
import { ruleOfAccount, rulesProjection } from '../../projections/rules.ts'
import { RuleEngine } from '../../streams/rules/rule-engine.ts'
import type { RecordedReading } from '../../domain/ports/reading-hook.ts'
import { ReadingFeed, firedValues, firingsOf } from '../helpers/rules.ts'
import { tempDataDir } from '../helpers/server.ts'

const silent = { info: () => {}, warn: () => {}, error: () => {} }
const account = 'account-1'
const api = { actor: { type: 'user', id: 'u' }, account_id: account, client_id: null, correlation_id: 'req', causation_id: 'req' } as const

const between = (thingId: string, channel = '1'): Trigger => ({
  thingId,
  channel,
  unit: 'c',
  geofence: false,
  conditions: [
    { operator: 'gt', value: '15' },
    { operator: 'lt', value: '30' },
  ],
})

const definitionOf = (triggers: Trigger[], more: Partial<RuleDefinition> = {}): RuleDefinition => ({
  title: 'Comfortable',
  enabled: true,
  triggers,
  triggersCondition: 'any',
  cooldownSeconds: null,
  actions: [{ thingId: 'lamp', channel: '3', unit: null, value: 1 }],
  notifications: [{ method: 'email', value: 'ops@example.com', body: null }],
  httpPush: [],
  ...more,
})

/** A store in a directory that outlives a "restart" (closing and reopening it). */
function openStore(dir: string) {
  const db = openDatabase(dir)
  const eventStore = new SqliteEventStore(db, 50)
  const readStore = new SqliteReadStore(db)
  return {
    eventStore,
    readStore,
    async close() {
      await eventStore.close()
      await readStore.close()
      db.close()
    },
  }
}

interface Fixture {
  readonly eventStore: EventStore
  readonly readStore: ReadStore
  readonly engine: RuleEngine
  readonly clock: { now: Date }
  readonly runner: ProjectionRunner | undefined
  command(ruleId: string, command: RuleCommand): Promise<void>
  create(definition: RuleDefinition): Promise<string>
  stop(): Promise<void>
}

/** A store (with the rules read model unless `readModel: false`) and a started engine. */
async function start(t: Test, options: { dir?: string; readModel?: boolean } = {}): Promise<Fixture & { dir: string; close(): Promise<void> }> {
  const dir = options.dir ?? tempDataDir(t)
  const store = openStore(dir)
  const clock = { now: new Date('2026-05-01T12:00:00.000Z') }
  const runner =
    options.readModel === false
      ? undefined
      : new ProjectionRunner({ eventStore: store.eventStore, readStore: store.readStore, projections: [asAnyProjection(rulesProjection)], logger: silent })
  await runner?.start()
  const engine = new RuleEngine({ eventStore: store.eventStore, readStore: store.readStore, now: () => clock.now, newId: randomUUID, logger: silent })
  await engine.start()
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    await engine.stop()
    await runner?.stop()
  }
  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    await stop()
    await store.close()
  }
  t.teardown(close)
  const command = async (ruleId: string, c: RuleCommand) => {
    const result = await handleCommand(ruleDecider, ruleStreamName(ruleId), c, { eventStore: store.eventStore, now: () => clock.now, newId: randomUUID, metadata: api })
    if (result.position !== null) await runner?.waitFor(result.position, 5000)
    await engine.catchUp()
  }
  const create = async (definition: RuleDefinition) => {
    const ruleId = randomUUID()
    await command(ruleId, { type: 'CreateRule', data: { ruleId, accountId: account, definition } })
    return ruleId
  }
  return { dir, eventStore: store.eventStore, readStore: store.readStore, engine, clock, runner, command, create, stop, close }
}

let second = 0
/** Readings one second apart, from a fixed start. */
const at = () => new Date(Date.parse('2026-05-01T10:00:00.000Z') + ++second * 1000).toISOString()
const series = (thingId: string, values: readonly number[], channel = '1') => values.map((value) => ({ thingId, channel, value, at: at(), accountId: account }))

t.test('fires when the condition becomes true, re-arms when it is false, and fires again', async (t) => {
  const f = await start(t)
  const feed = new ReadingFeed(f.eventStore)
  const ruleId = await f.create(definitionOf([between('sensor')]))
  const readings = await feed.record(series('sensor', [10, 20, 25, 40, 22, 22, 10]))
  await f.engine.onReadings(readings)

  const firings = await firingsOf(f.eventStore, ruleId)
  t.strictSame(firings.map((e) => [e.type, (e.data as { reading: { value: unknown } }).reading.value]), [
    ['RuleTriggered', 20],
    ['RuleRearmed', 40],
    ['RuleTriggered', 22],
    ['RuleRearmed', 10],
  ])
  const fire = firings[0]!
  t.match(fire.data, {
    ruleId,
    accountId: account,
    title: 'Comfortable',
    reading: { key: readings[1]!.key, thingId: 'sensor', channel: '1', unit: 'c', value: 20, at: readings[1]!.at },
    effects: { actions: [{ thingId: 'lamp', channel: '3', value: 1 }], notifications: [{ method: 'email' }], httpPush: [] },
    triggeredAt: f.clock.now.toISOString(),
  })
  t.match(fire.metadata, { actor: { type: 'system', id: 'rule-engine' }, account_id: account, causation_id: `telemetry:${readings[1]!.key}` })
})

t.test('a redelivered batch fires once, even delivered twice at the same time', async (t) => {
  const f = await start(t)
  const feed = new ReadingFeed(f.eventStore)
  const ruleId = await f.create(definitionOf([between('sensor')]))
  const batch = await feed.record(series('sensor', [10, 20, 40, 21]))
  await Promise.all([f.engine.onReadings(batch), f.engine.onReadings(batch)])
  await f.engine.onReadings(batch)
  t.strictSame(await firedValues(f.eventStore, ruleId), [20, 21])
})

t.test('a cooldown holds fires back, by reading time', async (t) => {
  const f = await start(t)
  const feed = new ReadingFeed(f.eventStore)
  const ruleId = await f.create(definitionOf([between('sensor')], { cooldownSeconds: 60 }))
  const base = Date.parse('2026-05-02T00:00:00.000Z')
  const timed = (value: number, seconds: number) => ({ thingId: 'sensor', channel: '1', value, at: new Date(base + seconds * 1000).toISOString() })
  await f.engine.onReadings(await feed.record([timed(20, 0), timed(40, 10), timed(20, 20), timed(21, 59), timed(22, 61), timed(40, 70), timed(23, 200)]))
  t.strictSame(await firedValues(f.eventStore, ruleId), [20, 22, 23], 'the fire held back at 20 s comes at 61 s, the first reading after the cooldown that holds')
})

t.test('any and all across triggers on different things', async (t) => {
  const f = await start(t)
  const feed = new ReadingFeed(f.eventStore)
  const triggers = [between('room-a'), between('room-b')]
  const any = await f.create(definitionOf(triggers))
  const all = await f.create(definitionOf(triggers, { triggersCondition: 'all' }))
  const readings = await feed.record([
    ...series('room-a', [20]), // any fires; all waits for room-b
    ...series('room-b', [21]), // all fires
    ...series('room-a', [40]), // all re-arms; any still holds through room-b
    ...series('room-b', [40]), // any re-arms
    ...series('room-a', [22]), // any fires again
  ])
  await f.engine.onReadings(readings)
  t.strictSame(await firedValues(f.eventStore, any), [20, 22])
  t.strictSame(await firedValues(f.eventStore, all), [21])
  t.strictSame((await firingsOf(f.eventStore, all)).map((e) => e.type), ['RuleTriggered', 'RuleRearmed'])
})

t.test('with many rules, a reading fires exactly the rules watching its thing and channel', async (t) => {
  const f = await start(t)
  const feed = new ReadingFeed(f.eventStore)
  const rules: { id: string; thing: string; channel: string }[] = []
  for (let i = 0; i < 300; i++) {
    const thing = `thing-${i % 100}`
    const channel = String(i % 3)
    rules.push({ id: await f.create(definitionOf([between(thing, channel)])), thing, channel })
  }
  await f.engine.onReadings(await feed.record([...series('thing-7', [20], '1'), ...series('thing-42', [20], '0'), ...series('thing-99', [50], '2')]))
  for (const rule of rules) {
    const expected = (rule.thing === 'thing-7' && rule.channel === '1') || (rule.thing === 'thing-42' && rule.channel === '0') ? [20] : []
    t.strictSame(await firedValues(f.eventStore, rule.id), expected, `${rule.thing}/${rule.channel}`)
  }
})

t.test('a disabled rule does not fire; enabled again it starts armed; a deleted one stops', async (t) => {
  const f = await start(t)
  const feed = new ReadingFeed(f.eventStore)
  const definition = definitionOf([between('sensor')])
  const ruleId = await f.create(definition)
  await f.command(ruleId, { type: 'UpdateRule', data: { ruleId, accountId: account, changes: { enabled: false } } })
  await f.engine.onReadings(await feed.record(series('sensor', [20, 40, 21])))
  t.strictSame(await firedValues(f.eventStore, ruleId), [], 'nothing while disabled')

  await f.command(ruleId, { type: 'UpdateRule', data: { ruleId, accountId: account, changes: { enabled: true } } })
  await f.engine.onReadings(await feed.record(series('sensor', [22])))
  t.strictSame(await firedValues(f.eventStore, ruleId), [22], 'fires once enabled (the engine followed the update from the log)')

  await f.command(ruleId, { type: 'DeleteRule', data: { ruleId, accountId: account } })
  await f.engine.onReadings(await feed.record(series('sensor', [40, 23])))
  t.strictSame(await firedValues(f.eventStore, ruleId), [22], 'nothing after the delete')
})

t.test('a rule created or changed after the engine started is followed from the log', async (t) => {
  const f = await start(t)
  const feed = new ReadingFeed(f.eventStore)
  const ruleId = await f.create(definitionOf([between('sensor')]))
  await f.command(ruleId, { type: 'UpdateRule', data: { ruleId, accountId: account, changes: { triggers: [between('other-sensor')] } } })
  await f.engine.onReadings(await feed.record([...series('sensor', [20]), ...series('other-sensor', [20])]))
  const firings = await firingsOf(f.eventStore, ruleId)
  t.strictSame(firings.map((e) => (e.data as { reading: { thingId: string } }).reading.thingId), ['other-sensor'])
})

for (const readModel of [true, false]) {
  t.test(`a restart (memory from the ${readModel ? 'read model' : 'log'}) neither misses nor repeats a fire`, async (t) => {
    const first = await start(t, { readModel })
    const feed = new ReadingFeed(first.eventStore)
    const single = await first.create(definitionOf([between('sensor')]))
    const all = await first.create(definitionOf([between('room-a'), between('room-b')], { triggersCondition: 'all' }))
    const batch1 = await feed.record([...series('sensor', [10, 20, 25]), ...series('room-a', [20])])
    await first.engine.onReadings(batch1)
    t.strictSame(await firedValues(first.eventStore, single), [20])
    if (first.runner) await first.runner.waitFor((await first.eventStore.headPosition())!, 5000)
    await first.close()

    const second = await start(t, { dir: first.dir, readModel })
    const feed2 = new ReadingFeed(second.eventStore, batch1.length)
    await second.engine.onReadings(batch1)
    t.strictSame(await firedValues(second.eventStore, single), [20], 'the redelivered batch repeats nothing')
    const batch2 = await feed2.record([...series('sensor', [26, 40, 21]), ...series('room-b', [22])])
    await second.engine.onReadings(batch2)
    t.strictSame(await firedValues(second.eventStore, single), [20, 21], 'still disarmed after the restart (26 did not fire), re-armed by 40')
    t.strictSame(await firedValues(second.eventStore, all), [22], 'room-a holding from before the restart is remembered')
  })
}

t.test('the what-if over the recorded readings equals what live evaluation fired', async (t) => {
  const f = await start(t)
  const feed = new ReadingFeed(f.eventStore)
  const triggers = [between('room-a'), { ...between('room-b'), conditions: [{ operator: 'gte' as const, value: 50 }] }]
  const ruleId = await f.create(definitionOf(triggers, { cooldownSeconds: 5 }))
  const values = (seed: number) => Array.from({ length: 60 }, (_, i) => Math.round(22 + 12 * Math.sin((i + seed) / 3)))
  const readings: RecordedReading[] = []
  for (let i = 0; i < 60; i++) {
    readings.push(...(await feed.record([...series('room-a', [values(0)[i]!]), ...series('room-b', [values(7)[i]! * 2])])))
  }
  for (let i = 0; i < readings.length; i += 17) await f.engine.onReadings(readings.slice(i, i + 17))
  await f.runner!.waitFor((await f.eventStore.headPosition())!, 5000)

  const live = (await firingsOf(f.eventStore, ruleId)).flatMap((e) => (e.type === 'RuleTriggered' ? [e.data.reading] : []))
  t.ok(live.length >= 3, `live evaluation fired ${live.length} times`)
  const rule = await ruleOfAccount(f.readStore, account, ruleId)
  const result = await simulateRule({ ruleId, accountId: account, definition: rule!.definition }, { from: readings[0]!.at, to: readings.at(-1)!.at }, f.eventStore)
  t.strictSame(result.fires, live, 'the same fires, from the same readings')
  t.equal(result.evaluated, readings.length)
  const narrower = await simulateRule({ ruleId, accountId: account, definition: rule!.definition }, { from: readings[40]!.at, to: readings.at(-1)!.at }, f.eventStore)
  t.ok(narrower.fires.every((r) => r.at >= readings[40]!.at), 'only readings in the range count')
})
