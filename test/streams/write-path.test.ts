/**
 * The one write path: stored events fold through foldRecorded, which upcasts an old shape
 * (here a SensorReadingRecorded from before readings carried their `key`) to the current
 * one; handleCommandBatch decides each stream's commands in order, appends once per stream,
 * and decides again on the fresh stream when its known state was stale.
 */
import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { SqliteEventStore } from '../../adapters/eventstore/sqlite.ts'
import { openDatabase } from '../../adapters/sqlite/database.ts'
import type { EventMetadata } from '../../domain/ports/event-store.ts'
import { eventUpcasters, foldRecorded, UpcasterRegistry, type Upcaster } from '../../domain/fold-events.ts'
import { handleCommandBatch, type CommandInBatch } from '../../commands/handle-command.ts'
import { recordedReadingsOf, telemetryDecider, telemetryKey, telemetryStreamOf, type RecordTelemetry } from '../../domain/telemetry/telemetry.ts'
import { tempDataDir } from '../helpers/server.ts'

const at = '2026-01-01T00:00:00.000Z'
const metadata: EventMetadata = { actor: { type: 'system', id: 't' }, account_id: 'acc', client_id: null, correlation_id: 'c', causation_id: 'c', time: at }

/** The shape a reading had before it carried its key: the record's partition, offset and index apart. */
const readingWithoutKey: Upcaster = {
  type: 'SensorReadingRecorded',
  isOld: (data) => typeof data === 'object' && data !== null && !('key' in data) && 'offset' in data,
  upcast: (data) => {
    const { partition, offset, index, ...rest } = data as { partition: number; offset: number; index: number }
    return { ...rest, key: telemetryKey(partition, offset, index) }
  },
}

function store(t: Test) {
  const db = openDatabase(tempDataDir(t))
  const eventStore = new SqliteEventStore(db)
  t.teardown(async () => {
    await eventStore.close()
    db.close()
  })
  return eventStore
}

const oldReading = (offset: number) => ({
  id: randomUUID(),
  type: 'SensorReadingRecorded',
  data: { partition: 0, offset, index: 0, thingId: 'thing', accountId: 'acc', at, channel: '1', type: 'temp', unit: 'c', value: 21, source: 'mqtt' },
  metadata,
})

const record = (offset: number): CommandInBatch<RecordTelemetry> => ({
  command: {
    type: 'RecordTelemetry',
    data: {
      records: [
        {
          partition: 0,
          offset,
          fact: { kind: 'readings', thingId: 'thing', accountId: 'acc', receivedAt: at, source: 'mqtt', topic: null, readings: [{ channel: '1', type: 'temp', unit: 'c', value: offset }] },
        },
      ],
    },
  },
  metadata,
  at: new Date(at),
})

t.test('an old event shape is upcast as it is folded', async (t) => {
  const eventStore = store(t)
  const stream = telemetryStreamOf('thing')
  await eventStore.appendToStream(stream, [oldReading(7)], { expectedRevision: 'no_stream' })
  const stored = await eventStore.readStream(stream)

  t.strictSame(foldRecorded(telemetryDecider, stored, { upcasters: new UpcasterRegistry() }), { last: null }, 'without the upcaster the old shape says nothing')
  const upcasters = new UpcasterRegistry().register(readingWithoutKey)
  t.strictSame(foldRecorded(telemetryDecider, stored, { upcasters }), { last: { partition: 0, offset: 7 } }, 'upcast, it is the record it came from')
  t.equal((upcasters.upcast(stored[0]!).data as { key: string }).key, '0:7:0', 'the current shape')
  t.notOk('key' in (stored[0]!.data as object), 'the stored event is not rewritten')

  // The write path folds through the registry every fold uses: a record the old event holds is not recorded again.
  eventUpcasters.register(readingWithoutKey)
  const [again] = await handleCommandBatch(telemetryDecider, [{ streamName: stream, commands: [record(7)] }], { eventStore, newId: randomUUID })
  t.equal(again!.position, null, 'the record at offset 7 is known to be recorded')
  const [next] = await handleCommandBatch(telemetryDecider, [{ streamName: stream, commands: [record(8)] }], { eventStore, newId: randomUUID })
  t.equal(next!.revision, 1, 'the next record is appended after it')
})

t.test('a batch decides each stream in order, appends once per stream, and decides again on a stale known state', async (t) => {
  const eventStore = store(t)
  const [a, b] = [telemetryStreamOf('a'), telemetryStreamOf('b')]
  const results = await handleCommandBatch(
    telemetryDecider,
    [
      { streamName: a, commands: [record(1), record(2), record(2)] },
      { streamName: b, commands: [record(5)] },
    ],
    { eventStore, newId: randomUUID },
  )
  t.strictSame(results.map((r) => r.revision), [1, 0], 'two events on a (the repeated record decided nothing), one on b')
  t.strictSame(results.map((r) => r.newEvents.length), [2, 1])
  const positionsOfA = (await eventStore.readStream(a)).map((e) => e.position)
  t.equal(results[0]!.position, positionsOfA[1], 'the position is that of the stream’s last new event')

  // Another writer moved b on: the caller's known state is stale, the append conflicts, b is read and decided again.
  await eventStore.appendToStream(b, [{ id: randomUUID(), type: 'SensorReadingRecorded', data: { key: '0:9:0', thingId: 'b', accountId: 'acc', at, channel: '1', type: null, unit: null, value: 1, source: 'mqtt' }, metadata }], { expectedRevision: 0 })
  const [stale] = await handleCommandBatch(telemetryDecider, [{ streamName: b, commands: [record(6), record(10)], known: { state: results[1]!.state, revision: 0 } }], { eventStore, newId: randomUUID })
  t.equal(stale!.revision, 2, 'appended after the other writer’s event')
  t.strictSame(stale!.newEvents.flatMap((e) => recordedReadingsOf(e).map((r) => r.key)), ['0:10:0'], 'offset 6 is before what the stream holds now: only 10 is recorded')
  t.strictSame(stale!.state, { last: { partition: 0, offset: 10 } })
})
