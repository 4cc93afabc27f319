/** The telemetry processor: records become events once, hooks see every reading in order, answers reach commands. */
import t from 'tap'
import type { RecordedReading, ReadingHook } from '../../domain/ports/reading-hook.ts'
import { TelemetryProcessor } from '../../streams/telemetry-processor.ts'
import type { TelemetryBatch, TelemetryRecord } from '../../domain/ports/telemetry-stream.ts'
import { deviceAccount } from '../helpers/mqtt.ts'
import { startTestServer } from '../helpers/server.ts'
import { recordedReadingsOf } from '../../domain/telemetry/telemetry.ts'
import type { RecordedEvent } from '../../domain/ports/event-store.ts'
import { feed, readingsOf, reading, record, settled } from './fixtures.ts'

/** The keys of the readings the events recorded, in order (how many events hold them depends on the batches the stream handed out). */
const readingKeys = (events: readonly RecordedEvent[]) => events.flatMap((e) => recordedReadingsOf(e).map((r) => r.key))

const silent = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }

function collectingHook(): ReadingHook & { seen: RecordedReading[] } {
  const seen: RecordedReading[] = []
  return { name: 'collect', seen, onReadings: async (readings) => void seen.push(...readings) }
}

t.test('readings become events of the thing\'s telemetry stream, and hooks see them in order', async (t) => {
  const hook = collectingHook()
  const server = await startTestServer(t, { hooks: [hook] })
  const account = await deviceAccount(server, { things: 2 })
  const [a, b] = account.thingIds.map((thingId) => ({ thingId, accountId: account.accountId }))
  await feed(server, [
    readingsOf(a!, '2026-05-01T10:00:00.000Z', [reading('1', 20.5), reading('2', [1.5, -2, 0.25], 'accel', 'g')]),
    readingsOf(b!, '2026-05-01T10:00:01.000Z', [reading('1', 7)]),
    { kind: 'sys', key: 'model', value: 'Python', ...a!, receivedAt: '2026-05-01T10:00:02.000Z' },
    { kind: 'connected', username: account.username, ...a!, receivedAt: '2026-05-01T10:00:03.000Z' },
    { kind: 'rejected', source: 'mqtt', topic: 'v1/u/things/a/data/3', payload: 'AAE=', reason: 'not a number', ...a!, receivedAt: '2026-05-01T10:00:04.000Z' },
    readingsOf(a!, '2026-05-01T10:00:05.000Z', [reading('1', 21)]),
    { kind: 'disconnected', username: account.username, ...a!, receivedAt: '2026-05-01T10:00:06.000Z' },
  ])

  const events = await server.capsicum.eventStore.readStream(`telemetry-${a!.thingId}`)
  t.strictSame(
    events.map((e) => e.type),
    ['SensorReadingsRecorded', 'DeviceInfoReported', 'DeviceConnected', 'ReadingRejected', 'SensorReadingsRecorded', 'DeviceDisconnected'],
    'the readings of a record are one event; the other facts keep their place between them',
  )
  t.match(recordedReadingsOf(events[0]!)[1], { channel: '2', type: 'accel', unit: 'g', value: [1.5, -2, 0.25], at: '2026-05-01T10:00:00.000Z', source: 'mqtt' })
  t.match(events[3]!.data, { reason: 'not a number', payload: 'AAE=' })
  t.equal(events[0]!.metadata.account_id, account.accountId, 'the metadata names the account')
  t.equal(events[0]!.metadata.time, '2026-05-01T10:00:00.000Z', 'the event time is when the reading was received')
  t.equal((await server.capsicum.eventStore.readStream(`telemetry-${b!.thingId}`)).length, 1)

  const ofA = hook.seen.filter((r) => r.thingId === a!.thingId)
  t.strictSame(ofA.map((r) => [r.channel, r.value]), [['1', 20.5], ['2', [1.5, -2, 0.25]], ['1', 21]], 'the hook saw the readings of a in order')
  t.strictSame(ofA.map((r) => r.key), readingKeys(events), 'with the keys of the events')
  t.equal(hook.seen.length, 4, 'every reading, nothing else')
})

t.test('a thing\'s readings of one batch are one event; every reading reaches the history, the latest values and the hooks', async (t) => {
  const hook = collectingHook()
  const server = await startTestServer(t, { hooks: [hook] })
  const account = await deviceAccount(server, { things: 1 })
  const device = { thingId: account.thingIds[0]!, accountId: account.accountId }
  const at = (second: number) => `2026-05-01T10:00:0${second}.000Z`
  // Handed to the processor as one batch (not through the stream), so the batch is exactly this.
  const messages = [
    readingsOf(device, at(1), [reading('1', 1)]),
    readingsOf(device, at(1), [reading('1', 2)]),
    readingsOf(device, at(2), [reading('1', 3), reading('2', 4)]),
  ]
  await server.capsicum.processor!.handle({ partition: 0, records: messages.map((m, offset): TelemetryRecord => ({ ...record(m), partition: 0, offset })) })

  const events = await server.capsicum.eventStore.readStream(`telemetry-${device.thingId}`)
  t.strictSame(events.map((e) => e.type), ['SensorReadingsRecorded'], 'one event')
  t.strictSame(readingKeys(events), ['0:0:0', '0:1:0', '0:2:0', '0:2:1'])
  t.strictSame(hook.seen.map((r) => r.key), ['0:0:0', '0:1:0', '0:2:0', '0:2:1'])

  await settled(server, [])
  const history = await server.api<{ points: { value: number }[] }>('GET', `/v1.1/things/${device.thingId}/data/1?from=${at(0)}&to=${at(3)}`, { token: account.token })
  t.equal(history.status, 200)
  t.strictSame(history.body.points.map((p) => p.value), [1, 2, 3], 'both readings of channel 1 at the same moment are points, in order')
  const latest = await server.api<{ channel: string; value: number }[]>('GET', `/v1.1/things/${device.thingId}/data`, { token: account.token })
  t.strictSame(latest.body.map((r) => [r.channel, r.value]), [['1', 3], ['2', 4]])
})

t.test('a batch delivered again records nothing twice; hooks see it again and know it by key', async (t) => {
  const hook = collectingHook()
  const server = await startTestServer(t, { hooks: [hook] })
  const account = await deviceAccount(server, { things: 1 })
  const device = { thingId: account.thingIds[0]!, accountId: account.accountId }
  const messages = [readingsOf(device, '2026-05-01T10:00:00.000Z', [reading('1', 1)]), readingsOf(device, '2026-05-01T10:00:01.000Z', [reading('1', 2), reading('2', 3)])]
  const produced = await server.capsicum.telemetry.produce(messages.map(record))
  await settled(server, produced)
  const stream = `telemetry-${device.thingId}`
  const before = await server.capsicum.eventStore.readStream(stream)
  t.equal(readingKeys(before).length, 3)

  const batch: TelemetryBatch = {
    partition: produced[0]!.partition,
    records: messages.map((m, i): TelemetryRecord => ({ ...record(m), ...produced[i]! })),
  }
  await t.test('to the same processor', async (t) => {
    await server.capsicum.processor!.handle(batch)
    t.equal((await server.capsicum.eventStore.readStream(stream)).length, before.length, 'no event added')
  })
  await t.test('to a processor that starts fresh, as after a crash (it reads the stream\'s last event)', async (t) => {
    const fresh = new TelemetryProcessor({ telemetry: server.capsicum.telemetry, eventStore: server.capsicum.eventStore, hooks: [hook], logger: silent, newId: () => crypto.randomUUID() })
    await fresh.handle(batch)
    t.equal((await server.capsicum.eventStore.readStream(stream)).length, before.length, 'no event added')
    // A new record after the redelivery is recorded as usual.
    await fresh.handle({ partition: batch.partition, records: [{ ...record(readingsOf(device, '2026-05-01T10:00:09.000Z', [reading('1', 9)])), partition: batch.partition, offset: produced[1]!.offset + 1 }] })
    const after = await server.capsicum.eventStore.readStream(stream)
    t.equal(after.length, before.length + 1)
    t.strictSame(readingKeys(after.slice(before.length)), [`${batch.partition}:${produced[1]!.offset + 1}:0`])
  })
  await t.test('by the stream itself, when the group is sent back to the start', async (t) => {
    // The record handled by hand above is not on the stream: the next produce takes its offset, so it is removed from the count.
    const eventsBefore = (await server.capsicum.eventStore.readStream(stream)).length
    await server.capsicum.telemetry.seek('telemetry-processor', batch.partition, { offset: 0 })
    await settled(server, produced)
    t.equal((await server.capsicum.eventStore.readStream(stream)).length, eventsBefore, 'replaying the partition adds nothing')
  })
  const keys = hook.seen.map((r) => r.key)
  t.ok(keys.length > 3, 'hooks saw the redelivered readings again')
  t.strictSame([...new Set(keys)].length, 4, 'four distinct readings in all')
})

t.test('answers to commands: ok acknowledges, error fails with the message, an unknown seq is ignored', async (t) => {
  const server = await startTestServer(t)
  const account = await deviceAccount(server, { things: 1 })
  const thingId = account.thingIds[0]!
  const device = { thingId, accountId: account.accountId }
  for (const value of [1, 0, 1]) {
    t.equal((await server.api('POST', `/v1.1/things/${thingId}/cmd`, { token: account.token, body: { value, channel: 3 } })).status, 200)
  }
  const answer = (seq: string, ok: boolean, message: string | null, second: number) => ({
    kind: 'response' as const,
    seq,
    ok,
    message,
    ...device,
    receivedAt: `2026-05-01T10:00:0${second}.000Z`,
  })
  await feed(server, [
    answer('1', true, null, 1),
    answer('2', false, 'Bad param', 2),
    answer('senderror', true, null, 3),
    answer('99', true, null, 4),
    readingsOf(device, '2026-05-01T10:00:05.000Z', [reading('3', 1, null, null)]),
  ])
  const commands = await server.api<{ seq: number; state: string; reason: string | null; updated_at: string }[]>('GET', `/v1.1/things/${thingId}/commands`, { token: account.token })
  t.equal(commands.status, 200)
  t.strictSame(
    commands.body.map((c) => [c.seq, c.state, c.reason]),
    [
      [3, 'requested', null],
      [2, 'failed', 'Bad param'],
      [1, 'acknowledged', null],
    ],
  )
  t.equal(commands.body[2]!.updated_at, '2026-05-01T10:00:01.000Z', 'the outcome is dated when the answer came')
  t.equal((await server.capsicum.eventStore.readStream(`telemetry-${thingId}`)).length, 1, 'the reading after the unknown answers was recorded')

  await t.test('an answer delivered again changes nothing', async (t) => {
    await feed(server, [answer('1', false, 'late', 6)])
    const again = await server.api<{ seq: number; state: string }[]>('GET', `/v1.1/things/${thingId}/commands`, { token: account.token })
    t.equal(again.body.find((c) => c.seq === 1)!.state, 'acknowledged')
  })
})

t.test('readings recorded one to an event (logs from before batching) still reach the history and the latest values', async (t) => {
  const server = await startTestServer(t)
  const account = await deviceAccount(server, { things: 1 })
  const thingId = account.thingIds[0]!
  const metadata = { actor: { type: 'system', id: 'telemetry-processor' }, account_id: account.accountId, client_id: null, correlation_id: 'c', causation_id: 'c', time: '2026-05-01T10:00:00.000Z' } as const
  const old = (offset: number, channel: string, value: number) => ({
    id: crypto.randomUUID(),
    type: 'SensorReadingRecorded',
    data: { key: `0:${offset}:0`, thingId, accountId: account.accountId, channel, type: 'temp', unit: 'c', value, at: `2026-05-01T10:00:0${offset}.000Z`, source: 'mqtt' },
    metadata,
  })
  await server.capsicum.eventStore.appendToStream(`telemetry-${thingId}`, [old(1, '1', 10), old(2, '1', 11), old(3, '2', 12)], { expectedRevision: 'no_stream' })
  await settled(server, [])
  const history = await server.api<{ points: { value: number }[] }>('GET', `/v1.1/things/${thingId}/data/1?from=2026-05-01T10:00:00.000Z&to=2026-05-01T10:00:09.000Z`, { token: account.token })
  t.strictSame(history.body.points.map((p) => p.value), [10, 11])
  const latest = await server.api<{ channel: string; value: number }[]>('GET', `/v1.1/things/${thingId}/data`, { token: account.token })
  t.strictSame(latest.body.map((r) => [r.channel, r.value]), [['1', 11], ['2', 12]])
})
