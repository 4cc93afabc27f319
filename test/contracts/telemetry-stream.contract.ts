/**
 * The TelemetryStream contract: the behaviour every adapter of the port
 * (domain/ports/telemetry-stream.ts) must show. test/contracts/sqlite.test.ts runs it against the
 * embedded adapter; a scale-out adapter runs the same suite when its URL is set.
 *
 * Each case opens the adapter on storage of its own, empty at the start (a fresh directory,
 * a fresh topic), and may reopen that same storage. Keys are fresh thing ids; the suite
 * works with whatever partition count the adapter was opened with.
 *
 * Nothing here waits on the clock: a consumer is awaited through a promise its handler
 * resolves, guarded by a generous safety timeout that fails the case instead of hanging it.
 */
import { randomUUID } from 'node:crypto'
import type { Test } from 'tap'
import type {
  ConsumeOptions,
  TelemetryBatch,
  TelemetryConsumer,
  TelemetryRecord,
  TelemetryRecordToProduce,
  TelemetryStream,
} from '../../domain/ports/telemetry-stream.ts'
import { deferred, within as waitWithin, type Deferred } from '../helpers/async.ts'

export interface OpenedTelemetryStream {
  readonly stream: TelemetryStream
  /** calls the stream’s close(), then closes whatever was opened for it; closing twice is harmless */
  close(): Promise<void>
  /** closes this instance, then opens the same storage again */
  reopen(): Promise<OpenedTelemetryStream>
}

/** Opens the adapter on fresh, empty storage for one case; closes it in `t.teardown`. */
export type OpenTelemetryStream = (t: Test) => Promise<OpenedTelemetryStream>

const safetyTimeoutMs = 20_000

/** Resolves as `promise` does, or fails the case once the safety timeout has passed. */
const within = <T>(promise: Promise<T>, what: string): Promise<T> => waitWithin(promise, what, safetyTimeoutMs)

/** 2026-01-01T00:00:00Z: the records' timestamps count from here, one second apart. */
const epoch = Date.UTC(2026, 0, 1)

let counter = 0

function reading(key: string, timestamp = epoch + counter * 1000): TelemetryRecordToProduce {
  counter += 1
  return { key, value: JSON.stringify({ n: counter, channel: 'temp', unit: '°C', value: 21.5 }), timestamp }
}

const readings = (key: string, count: number): TelemetryRecordToProduce[] =>
  Array.from({ length: count }, (_, i) => reading(key, epoch + i * 1000))

const thingId = (): string => `thing-${randomUUID()}`

/** `count` keys on as many distinct partitions (fewer when the stream has fewer partitions). */
function keysOnDistinctPartitions(stream: TelemetryStream, count: number): string[] {
  const wanted = Math.min(count, stream.partitionCount)
  const byPartition = new Map<number, string>()
  for (let tries = 0; byPartition.size < wanted; tries++) {
    if (tries > 100_000) throw new Error(`could not find ${wanted} keys on distinct partitions`)
    const key = thingId()
    const partition = stream.partitionFor(key)
    if (!byPartition.has(partition)) byPartition.set(partition, key)
  }
  return [...byPartition.values()]
}

const offsetsOf = (records: readonly TelemetryRecord[]): number[] => records.map((r) => r.offset)
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i)

/** What was produced, as the consumer must hand it back. */
const asProduced = (r: TelemetryRecordToProduce) => ({ key: r.key, value: r.value, timestamp: r.timestamp })

/** A running consumer that keeps what it received and can be awaited until a condition holds. */
interface Recording {
  readonly batches: TelemetryBatch[]
  /** every record received, in delivery order */
  readonly records: TelemetryRecord[]
  /** the records received from one partition, in delivery order */
  partition(partition: number): TelemetryRecord[]
  /** resolves once `condition` holds after a delivery; rejects on onError or the safety timeout */
  until(condition: () => boolean, what: string): Promise<void>
  /** stops the consumer; calling it again is harmless */
  stop(): Promise<void>
}

function stopOnce(t: Test, consumer: TelemetryConsumer, beforeStop: () => void = () => {}): () => Promise<void> {
  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => (stopping ??= consumer.stop())
  t.teardown(() => {
    beforeStop()
    return stop()
  })
  return stop
}

function record(
  t: Test,
  stream: TelemetryStream,
  options: Omit<ConsumeOptions, 'onError'>,
  handle: (batch: TelemetryBatch) => Promise<void> = async () => {},
): Recording {
  const batches: TelemetryBatch[] = []
  const records: TelemetryRecord[] = []
  const failed = deferred<unknown>()
  let waiting: { condition: () => boolean; reached: Deferred<void> } | undefined
  const consumer = stream.consume({ ...options, onError: (error) => failed.resolve(error) }, async (batch) => {
    batches.push(batch)
    records.push(...batch.records)
    if (waiting?.condition()) waiting.reached.resolve()
    await handle(batch)
  })
  const stop = stopOnce(t, consumer)
  return {
    batches,
    records,
    partition: (partition) => records.filter((r) => r.partition === partition),
    async until(condition, what) {
      if (condition()) return
      const reached = deferred()
      waiting = { condition, reached }
      const failure = failed.promise.then((error) => {
        throw error instanceof Error ? error : new Error(String(error))
      })
      await within(Promise.race([reached.promise, failure]), what)
    },
    stop,
  }
}

/** Consumes as `groupId` until `count` records have arrived, then stops (committing them). */
async function consumeCount(t: Test, stream: TelemetryStream, groupId: string, count: number): Promise<Recording> {
  const consumer = record(t, stream, { groupId })
  await consumer.until(() => consumer.records.length >= count, `${count} records for group ${groupId}`)
  await consumer.stop()
  return consumer
}

const committed = async (stream: TelemetryStream, groupId: string, partition: number): Promise<number> =>
  (await stream.committedOffsets(groupId)).get(partition) ?? 0

export function telemetryStreamContract(t: Test, name: string, open: OpenTelemetryStream): void {
  t.test(`${name}: TelemetryStream contract`, async (t) => {
    t.test('produce resolves with each record’s partition and dense offsets from 0', async (t) => {
      const { stream } = await open(t)
      const keys = [...keysOnDistinctPartitions(stream, 3), thingId(), thingId()]
      const records = Array.from({ length: 20 }, (_, i) => reading(keys[i % keys.length]!))
      const produced = await stream.produce(records)

      t.equal(produced.length, records.length, 'one result per record')
      t.ok(
        produced.every((p, i) => p.partition === stream.partitionFor(records[i]!.key)),
        'each record went to partitionFor(key)',
      )
      t.ok(produced.every((p) => p.partition >= 0 && p.partition < stream.partitionCount), 'partitions are in range')
      const partitions = [...new Set(produced.map((p) => p.partition))]
      for (const partition of partitions) {
        const offsets = produced.filter((p) => p.partition === partition).map((p) => p.offset)
        t.strictSame(offsets, range(0, offsets.length), `partition ${partition}: 0, 1, 2, ... in produce order`)
      }

      const [next] = await stream.produce([reading(keys[0]!)])
      const before = produced.filter((p) => p.partition === next!.partition).length
      t.strictSame(next, { partition: stream.partitionFor(keys[0]!), offset: before }, 'a later produce continues the offsets')
    })

    t.test('produces issued in the same tick get distinct, dense offsets', async (t) => {
      const { stream } = await open(t)
      const key = thingId()
      const results = await Promise.all(Array.from({ length: 20 }, () => stream.produce(readings(key, 2))))
      const offsets = results.flat().map((p) => p.offset)
      t.strictSame([...offsets].sort((a, b) => a - b), range(0, 40), 'every offset once, none skipped')
      t.ok(
        results.every(([a, b]) => a !== undefined && b !== undefined && b.offset === a.offset + 1),
        "one produce's records stay together, in order",
      )
    })

    t.test('a produce that fails does not fail the others issued with it', async (t) => {
      const { stream } = await open(t)
      const [key, elsewhere] = keysOnDistinctPartitions(stream, 2).concat(thingId(), thingId()) as [string, string]
      const first = readings(key, 2)
      const doubtful = [reading(key), { key, value: '{}', timestamp: Number.NaN }]
      const other = readings(elsewhere, 1)
      const last = readings(key, 2)
      const settled = await Promise.allSettled([
        stream.produce(first),
        stream.produce(doubtful),
        stream.produce(other),
        stream.produce(last),
      ])

      // Whether a record without a usable timestamp is refused is the engine's business;
      // that it takes the records produced beside it down with it is not.
      t.equal(settled[0]?.status, 'fulfilled', 'the produce before it succeeds')
      t.equal(settled[2]?.status, 'fulfilled', 'a produce to another partition succeeds')
      t.equal(settled[3]?.status, 'fulfilled', 'the produce after it succeeds')
      const refused = settled[1]?.status === 'rejected'
      const expected = refused ? [...first, ...last] : [...first, ...doubtful, ...last]
      if (settled[3]?.status === 'fulfilled') {
        t.strictSame(
          settled[3].value.map((p) => p.offset),
          [expected.length - 2, expected.length - 1],
          'a refused produce leaves no gap in the offsets',
        )
      }
      const consumer = await consumeCount(t, stream, 'audit', expected.length + other.length)
      const valuesOf = (k: string, records: readonly TelemetryRecordToProduce[]): string[] =>
        records.filter((r) => r.key === k).map((r) => r.value)
      t.strictSame(valuesOf(key, consumer.records), valuesOf(key, expected), 'the records accepted, in order')
      t.strictSame(valuesOf(elsewhere, consumer.records), valuesOf(elsewhere, other), 'and those of the other partition')
    })

    t.test('the same key always goes to the same partition', async (t) => {
      const { stream } = await open(t)
      const key = thingId()
      const partition = stream.partitionFor(key)
      t.ok(Number.isInteger(partition) && partition >= 0 && partition < stream.partitionCount, 'in range')
      t.equal(stream.partitionFor(key), partition, 'partitionFor is stable')
      const first = await stream.produce([reading(key), reading(thingId()), reading(key)])
      const second = await stream.produce([reading(key)])
      t.strictSame(
        [first[0], first[2], second[0]].map((p) => p?.partition),
        [partition, partition, partition],
        'produce agrees with partitionFor, every time',
      )
    })

    t.test('a new group receives each partition in order from offset 0', async (t) => {
      const { stream } = await open(t)
      const keys = [...keysOnDistinctPartitions(stream, 3), thingId()]
      const records = Array.from({ length: 30 }, (_, i) => reading(keys[i % keys.length]!))
      const produced = await stream.produce(records)

      const consumer = record(t, stream, { groupId: 'rules', maxBatch: 4 })
      await consumer.until(() => consumer.records.length >= records.length, 'every record')
      await consumer.stop()

      t.equal(consumer.records.length, records.length, 'every record once')
      const partitions = [...new Set(produced.map((p) => p.partition))]
      for (const partition of partitions) {
        const expected = records.filter((_, i) => produced[i]!.partition === partition)
        const received = consumer.partition(partition)
        t.strictSame(offsetsOf(received), range(0, expected.length), `partition ${partition}: offsets in order from 0`)
        t.strictSame(received.map(asProduced), expected.map(asProduced), `partition ${partition}: key, value, timestamp intact`)
        t.equal(await committed(stream, 'rules', partition), expected.length, `partition ${partition}: all committed`)
      }
      t.ok(
        consumer.batches.every((b) => b.records.length >= 1 && b.records.length <= 4),
        'no batch is empty or larger than maxBatch',
      )
      t.ok(
        consumer.batches.every((b) => b.records.every((r) => r.partition === b.partition)),
        'a batch holds one partition',
      )
    })

    t.test('a consumer started before anything is produced receives records live', async (t) => {
      const { stream } = await open(t)
      const key = thingId()
      const consumer = record(t, stream, { groupId: 'live' })
      const first = readings(key, 3)
      await stream.produce(first)
      await consumer.until(() => consumer.records.length >= 3, 'the first live records')
      const second = readings(key, 2)
      await stream.produce(second)
      await consumer.until(() => consumer.records.length >= 5, 'the second live records')
      await consumer.stop()
      t.strictSame(offsetsOf(consumer.records), [0, 1, 2, 3, 4])
      t.strictSame(consumer.records.map(asProduced), [...first, ...second].map(asProduced))
    })

    t.test('offsets are committed only once the handler has resolved', async (t) => {
      const { stream } = await open(t)
      const key = thingId()
      const partition = stream.partitionFor(key)
      await stream.produce(readings(key, 3))

      const release = deferred()
      const consumer = record(t, stream, { groupId: 'slow' }, () => release.promise)
      t.teardown(() => release.resolve())
      await consumer.until(() => consumer.records.length >= 3, 'the batch')
      t.equal(await committed(stream, 'slow', partition), 0, 'nothing is committed while the handler runs')

      const stopping = consumer.stop()
      release.resolve()
      await within(stopping, 'stop()')
      t.equal(await committed(stream, 'slow', partition), 3, 'the batch is committed once its handler resolved')
    })

    t.test('a batch whose handler throws is delivered again after a restart', async (t) => {
      const { stream } = await open(t)
      const key = thingId()
      const partition = stream.partitionFor(key)
      const records = readings(key, 3)
      await stream.produce(records)

      const failure = new Error('rule evaluation failed')
      const reported = deferred<unknown>()
      let calls = 0
      const failing = stream.consume({ groupId: 'rules', onError: (error) => reported.resolve(error) }, async () => {
        calls += 1
        throw failure
      })
      const stopFailing = stopOnce(t, failing)
      t.equal(await within(reported.promise, 'onError'), failure, 'onError receives what the handler threw')
      await within(stopFailing(), 'stop() after a failure')
      t.equal(calls, 1, 'the failed consumer delivered nothing more')
      t.equal(await committed(stream, 'rules', partition), 0, 'the failed batch was not committed')

      const restarted = await consumeCount(t, stream, 'rules', 3)
      t.strictSame(offsetsOf(restarted.records), [0, 1, 2], 'the same records again, from the failed batch on')
      t.strictSame(restarted.records.map(asProduced), records.map(asProduced))
      t.equal(await committed(stream, 'rules', partition), 3, 'committed once handled')
    })

    t.test('consumer groups are independent', async (t) => {
      const { stream } = await open(t)
      const key = thingId()
      const partition = stream.partitionFor(key)
      await stream.produce(readings(key, 5))

      const first = await consumeCount(t, stream, 'rules', 5)
      t.strictSame(offsetsOf(first.records), range(0, 5))
      t.equal(await committed(stream, 'rules', partition), 5, 'the first group has read everything')
      t.equal(await committed(stream, 'scheduler', partition), 0, 'the second group has read nothing')

      const second = await consumeCount(t, stream, 'scheduler', 5)
      t.strictSame(offsetsOf(second.records), range(0, 5), 'the second group reads from 0 too')
      t.equal(await committed(stream, 'rules', partition), 5, 'and leaves the first group where it was')
    })

    t.test('committedOffsets follows the progress of a group', async (t) => {
      const { stream } = await open(t)
      const [a, b] = keysOnDistinctPartitions(stream, 2)
      const pa = stream.partitionFor(a!)
      t.equal(await committed(stream, 'rules', pa), 0, 'a new group starts at 0')

      await stream.produce([...readings(a!, 4), ...(b === undefined ? [] : readings(b, 2))])
      await consumeCount(t, stream, 'rules', b === undefined ? 4 : 6)
      const offsets = await stream.committedOffsets('rules')
      t.equal(offsets.get(pa), 4, 'the next offset to read on the first partition')
      if (b !== undefined) t.equal(offsets.get(stream.partitionFor(b)), 2, 'and on the second')

      await stream.produce(readings(a!, 3))
      await consumeCount(t, stream, 'rules', 3)
      t.equal(await committed(stream, 'rules', pa), 7, 'moves on with the records consumed')
    })

    t.test('endOffsets gives each partition the offset its next record gets (the lag a group has is that minus its committed offset)', async (t) => {
      const { stream } = await open(t)
      const [a, b] = keysOnDistinctPartitions(stream, 2)
      const pa = stream.partitionFor(a!)
      const before = await stream.endOffsets()
      t.equal(before.size, stream.partitionCount, 'every partition')
      t.equal(before.get(pa), 0, 'an empty partition ends at 0')
      await stream.produce([...readings(a!, 3), ...(b === undefined ? [] : readings(b, 1))])
      const after = await stream.endOffsets()
      t.equal(after.get(pa), 3)
      if (b !== undefined) t.equal(after.get(stream.partitionFor(b)), 1)
      const [next] = await stream.produce([reading(a!)])
      t.equal(next!.offset, after.get(pa), 'the next record got that offset')
    })

    t.test('seek to an offset replays from it', async (t) => {
      const { stream } = await open(t)
      const key = thingId()
      const partition = stream.partitionFor(key)
      const records = readings(key, 5)
      await stream.produce(records)
      await consumeCount(t, stream, 'rules', 5)

      await stream.seek('rules', partition, { offset: 2 })
      t.equal(await committed(stream, 'rules', partition), 2, 'the committed offset moved back')
      const replay = await consumeCount(t, stream, 'rules', 3)
      t.strictSame(offsetsOf(replay.records), [2, 3, 4], 'the records from offset 2 on')
      t.strictSame(replay.records.map(asProduced), records.slice(2).map(asProduced))

      await stream.seek('rules', partition, { offset: 0 })
      const full = await consumeCount(t, stream, 'rules', 5)
      t.strictSame(offsetsOf(full.records), range(0, 5), 'seeking to 0 replays everything')
    })

    t.test('seek to a timestamp replays from the first record at or after it', async (t) => {
      const { stream } = await open(t)
      const key = thingId()
      const partition = stream.partitionFor(key)
      await stream.produce(readings(key, 5)) // at epoch + 0 s, 1 s, ... 4 s

      await stream.seek('rules', partition, { timestamp: epoch + 2500 })
      t.equal(await committed(stream, 'rules', partition), 3, 'between two records: the later one')
      const replay = await consumeCount(t, stream, 'rules', 2)
      t.strictSame(offsetsOf(replay.records), [3, 4], 'replays from there')

      await stream.seek('rules', partition, { timestamp: epoch + 1000 })
      t.equal(await committed(stream, 'rules', partition), 1, 'exactly at a record: that record')
      await stream.seek('rules', partition, { timestamp: epoch - 60_000 })
      t.equal(await committed(stream, 'rules', partition), 0, 'before every record: the first')
      await stream.seek('rules', partition, { timestamp: epoch + 60_000 })
      t.equal(await committed(stream, 'rules', partition), 5, 'after every record: the end')
    })

    t.test('seek beyond the end stops at the end', async (t) => {
      const { stream } = await open(t)
      const key = thingId()
      const partition = stream.partitionFor(key)
      await stream.produce(readings(key, 5))

      await stream.seek('rules', partition, { offset: 1000 })
      t.equal(await committed(stream, 'rules', partition), 5, 'clamped to the next offset to be written')
      const later = reading(key)
      await stream.produce([later])
      const consumer = await consumeCount(t, stream, 'rules', 1)
      t.strictSame(offsetsOf(consumer.records), [5], 'the group reads the next record produced, and only it')
      t.strictSame(consumer.records.map(asProduced), [asProduced(later)])
    })

    t.test('records and committed offsets survive a reopen', async (t) => {
      const opened = await open(t)
      const key = thingId()
      const partition = opened.stream.partitionFor(key)
      const before = readings(key, 4)
      await opened.stream.produce(before)
      await consumeCount(t, opened.stream, 'rules', 4)
      await opened.stream.seek('rules', partition, { offset: 3 })

      const { stream } = await opened.reopen()
      t.equal(stream.partitionFor(key), partition, 'the key maps to the same partition')
      t.equal(await committed(stream, 'rules', partition), 3, 'the committed offset survived')
      const after = readings(key, 2)
      const produced = await stream.produce(after)
      t.strictSame(produced.map((p) => p.offset), [4, 5], 'offsets continue, none reused')

      const resumed = await consumeCount(t, stream, 'rules', 3)
      t.strictSame(offsetsOf(resumed.records), [3, 4, 5], 'the group resumes where it was')
      t.strictSame(resumed.records.map(asProduced), [before[3]!, ...after].map(asProduced))
      const fresh = await consumeCount(t, stream, 'audit', 6)
      t.strictSame(offsetsOf(fresh.records), range(0, 6), 'every record survived')
    })

    t.test('close() writes the records still queued', async (t) => {
      const opened = await open(t)
      const key = thingId()
      const records = readings(key, 3)
      const producing = opened.stream.produce(records)
      // Close the stream and what holds it (the database, the connection) before the
      // produce has settled: close() itself must have written it.
      await opened.close()
      const produced = await within(producing, 'the queued produce')
      t.strictSame(produced.map((p) => p.offset), [0, 1, 2], 'the queued produce resolved')

      const { stream } = await opened.reopen()
      const consumer = await consumeCount(t, stream, 'audit', 3)
      t.strictSame(consumer.records.map(asProduced), records.map(asProduced), 'and its records are there after reopening')
    })

    t.test('ping resolves on an open stream', async (t) => {
      const { stream } = await open(t)
      await t.resolves(stream.ping())
    })
  })
}
