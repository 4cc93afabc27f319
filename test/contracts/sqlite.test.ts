/**
 * The embedded engine against every port's contract. Each case gets a fresh temporary
 * directory holding its own SQLite file; reopening opens that same file again. Everything
 * is closed in t.teardown: subscriptions and consumers (the suites stop them), then the
 * adapter, then the database, then the directory is removed.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { Test } from 'tap'
import type { RecordedEvent } from '../../domain/ports/event-store.ts'
import type { TelemetryBatch } from '../../domain/ports/telemetry-stream.ts'
import { telemetryRecordOf, type TelemetryMessage } from '../../domain/telemetry/telemetry-message.ts'
import { within } from '../helpers/async.ts'
import { SqliteEventStore } from '../../adapters/eventstore/sqlite.ts'
import { SqliteReadStore } from '../../adapters/readstore/sqlite.ts'
import { openDatabase, type SqliteDatabase } from '../../adapters/sqlite/database.ts'
import { SqliteTelemetryStream } from '../../adapters/stream/sqlite.ts'
import { eventStoreContract, type OpenedEventStore } from './event-store.contract.ts'
import { readStoreContract, type OpenedReadStore } from './read-store.contract.ts'
import { telemetryStreamContract, type OpenedTelemetryStream } from './telemetry-stream.contract.ts'

interface Closable {
  close(): Promise<void>
}

/**
 * Opens `make` on a database in a fresh directory of the case, shaped by `shape` as the
 * contract expects; reopening closes the adapter and the database and opens the same
 * directory again.
 */
function onFreshDirectory<A extends Closable, Opened>(
  make: (db: SqliteDatabase) => A,
  shape: (adapter: A, close: () => Promise<void>, reopen: () => Promise<Opened>) => Opened,
): (t: Test) => Promise<Opened> {
  return async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'capsicum-contract-'))
    const closers: (() => Promise<void>)[] = []
    // One teardown closes every instance opened on the directory, then removes it, even
    // when a close fails (the failure still fails the case).
    t.teardown(async () => {
      try {
        for (const close of closers.reverse()) await close()
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
    const openAt = (): Opened => {
      const db = openDatabase(dir)
      const adapter = make(db)
      let closing: Promise<void> | undefined
      const close = (): Promise<void> =>
        (closing ??= (async () => {
          try {
            await adapter.close()
          } finally {
            db.close()
          }
        })())
      closers.push(close)
      return shape(adapter, close, async () => {
        await close()
        return openAt()
      })
    }
    return openAt()
  }
}

eventStoreContract(
  t,
  'SQLite',
  onFreshDirectory<SqliteEventStore, OpenedEventStore>(
    (db) => new SqliteEventStore(db),
    (store, close, reopen) => ({ store, close, reopen }),
  ),
)

readStoreContract(
  t,
  'SQLite',
  onFreshDirectory<SqliteReadStore, OpenedReadStore>(
    (db) => new SqliteReadStore(db),
    (store, close, reopen) => ({ store, close, reopen }),
  ),
  { atomicCommit: true },
)

telemetryStreamContract(
  t,
  'SQLite',
  onFreshDirectory<SqliteTelemetryStream, OpenedTelemetryStream>(
    (db) => new SqliteTelemetryStream(db),
    (stream, close, reopen) => ({ stream, close, reopen }),
  ),
)

// Followers that keep up read the newest events from the store's memory, not the table.
// What they get must be what the table holds, whatever else happened in the same commit.
t.test('SQLite event store: followers reading from memory see exactly what the table holds', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'capsicum-tail-'))
  const db = openDatabase(dir)
  const store = new SqliteEventStore(db)
  // a second connection writing to the same file, as another writer would
  const otherDb = openDatabase(dir)
  const other = new SqliteEventStore(otherDb)
  t.teardown(async () => {
    await store.close()
    await other.close()
    db.close()
    otherDb.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const metadata = { actor: { type: 'system', id: 'test' }, account_id: 'a', client_id: null, correlation_id: 'c', causation_id: 'c', time: '2026-11-26T00:00:00.000Z' } as const
  const event = (id: string, type = 'Noted'): { id: string; type: string; data: unknown; metadata: typeof metadata } => ({
    id,
    type,
    data: { id, at: new Date('2026-11-26T01:02:03Z'), nested: { list: [1, 2.5, 'x'] }, missing: undefined },
    metadata,
  })
  const seen: RecordedEvent[] = []
  let wake: (() => void) | undefined
  const subscription = store.subscribeToAll({ fromPosition: null, eventTypes: ['Noted'] }, async (events) => {
    seen.push(...events)
    wake?.()
  })
  t.teardown(() => subscription.stop())
  const until = (count: number): Promise<void> =>
    within(
      new Promise<void>((resolve) => {
        if (seen.length >= count) return resolve()
        wake = () => seen.length >= count && resolve()
      }),
      `${count} events`,
      10_000,
    )

  await store.appendToStream('s-1', [event('e1')], { expectedRevision: 'no_stream' })
  await until(1)
  // one group: an append that fails its expected revision, one that succeeds, an event of another type
  const outcomes = await Promise.allSettled([
    store.appendToStream('s-1', [event('lost')], { expectedRevision: 5 }),
    store.appendToStream('s-2', [event('e2'), event('other', 'Ignored'), event('e3')], { expectedRevision: 'no_stream' }),
  ])
  t.equal(outcomes[0].status, 'rejected', 'the conflicting append fails')
  await until(3)
  // another writer's event, then ours: the follower must not skip the other's
  await other.appendToStream('s-3', [event('e4')], { expectedRevision: 'no_stream' })
  await store.appendToStream('s-1', [event('e5')], { expectedRevision: 0 })
  await until(5)

  const table = (await store.readAll({ fromPosition: null, maxCount: 100 })).filter((e) => e.type === 'Noted')
  t.strictSame(
    seen.map((e) => e.id),
    ['e1', 'e2', 'e3', 'e4', 'e5'],
    'every event once, in order; not the failed append, not the other type',
  )
  t.strictSame(
    seen.map((e) => ({ id: e.id, stream: e.streamName, revision: e.revision, position: e.position, data: e.data, metadata: e.metadata })),
    table.map((e) => ({ id: e.id, stream: e.streamName, revision: e.revision, position: e.position, data: e.data, metadata: e.metadata })),
    'the same events, data and metadata as the table gives (a Date as its text, undefined left out)',
  )

  // data whose text parses back the same reaches the followers as it was given: no parse
  const given = { id: 'e6', readings: [{ key: '1:2:0', value: [1, 2.5], unit: null, raw: { topic: 'v1/u/things/t/data/1', payload: 'MQ==' } }] }
  await store.appendToStream('s-1', [{ ...event('e6'), data: given }], { expectedRevision: 1 })
  await until(6)
  t.equal(seen[5]!.data, given, 'JSON-faithful data is handed over as given')
  t.strictSame(seen[5]!.data, (await store.readStream('s-1', { fromRevision: 2 }))[0]!.data, 'and is what the table holds')
})

// The events kept in memory for the followers are bounded by their data's size as well as
// their count (a SensorReadingsRecorded can hold hundreds of readings); a follower behind
// what memory holds reads the table instead, and misses nothing.
t.test('SQLite event store: the events kept for followers are bounded by size; a follower behind them reads the table', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'capsicum-tail-size-'))
  const db = openDatabase(dir)
  const store = new SqliteEventStore(db)
  t.teardown(async () => {
    await store.close()
    db.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const metadata = { actor: { type: 'system', id: 'test' }, account_id: 'a', client_id: null, correlation_id: 'c', causation_id: 'c', time: '2026-11-26T00:00:00.000Z' } as const
  const filler = 'x'.repeat(256 * 1024)
  // 48 appends of 256 KiB: 12 MiB of data, past the bound, few events
  for (let i = 0; i < 48; i++) {
    await store.appendToStream(`big-${i}`, [{ id: crypto.randomUUID(), type: 'Big', data: { i, filler }, metadata }], { expectedRevision: 'no_stream' })
  }
  const kept = (store as unknown as { tail: RecordedEvent[]; tailBytes: number }).tail
  const keptBytes = (store as unknown as { tailBytes: number }).tailBytes
  t.ok(keptBytes <= 8 * 1024 * 1024, `at most 8 MiB of data kept in memory (${(keptBytes / 1024 / 1024).toFixed(1)} MiB)`)
  t.ok(kept.length < 48, 'older events left memory')
  t.equal(kept[kept.length - 1]!.position, 48, 'the newest stay')

  const seen: number[] = []
  let wake: (() => void) | undefined
  const subscription = store.subscribeToAll({ fromPosition: null, eventTypes: ['Big'] }, async (events) => {
    for (const event of events) seen.push((event.data as { i: number }).i)
    wake?.()
  })
  t.teardown(() => subscription.stop())
  await within(new Promise<void>((resolve) => (seen.length >= 48 ? resolve() : (wake = () => seen.length >= 48 && resolve()))), '48 events', 10_000)
  t.strictSame(seen, Array.from({ length: 48 }, (_, i) => i), 'every event once, in order, from the table then from memory')
})

/** A stream of `partitions` on a database in a fresh directory, all closed and removed in the teardown. */
function streamInFreshDirectory(t: Test, partitions: number): { db: SqliteDatabase; stream: SqliteTelemetryStream } {
  const dir = mkdtempSync(join(tmpdir(), 'capsicum-stream-'))
  const db = openDatabase(dir)
  const stream = new SqliteTelemetryStream(db, partitions)
  t.teardown(async () => {
    await stream.close()
    db.close()
    rmSync(dir, { recursive: true, force: true })
  })
  return { db, stream }
}

/** The first offset, in offset order, of a record at or after `timestamp`; the end when none is. */
function firstAtOrAfter(timestamps: readonly number[], timestamp: number): number {
  const found = timestamps.findIndex((ts) => ts >= timestamp)
  return found === -1 ? timestamps.length : found
}

/** Timestamps that mostly go forward, a second apart, and sometimes step back (a clock set back). */
function wanderingTimestamps(count: number, seed: number): number[] {
  let state = seed
  const random = (): number => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32)
  let clock = Date.UTC(2026, 0, 1)
  return Array.from({ length: count }, () => (clock += random() < 0.1 ? -Math.floor(random() * 5000) : Math.floor(random() * 2000)))
}

// Seeking to a time goes by a sparse index of one entry per partition and commit; a clock
// set back must not make it skip a record that the definition (the first record, in offset
// order, at or after the time) picks.
t.test('SQLite telemetry stream: seeking to a time across many commits, with a clock set back, finds the first record at or after it', async (t) => {
  const { db, stream } = streamInFreshDirectory(t, 4)
  const key = 'thing-a'
  const partition = stream.partitionFor(key)
  const other = ['thing-b', 'thing-c', 'thing-d', 'thing-e'].find((k) => stream.partitionFor(k) !== partition)!
  const timestamps = wanderingTimestamps(600, 7)
  // commits of 1 to 40 records, another key's records between them
  for (let at = 0, size = 1; at < timestamps.length; at += size, size = (size * 7) % 40 + 1) {
    const records = timestamps.slice(at, at + size).map((timestamp) => ({ key, value: '{}', timestamp }))
    await Promise.all([stream.produce(records), stream.produce([{ key: other, value: '{}', timestamp: 0 }])])
  }
  const entries = db.prepare('SELECT count(*) AS n FROM telemetry_times WHERE partition = ?').get(partition) as { n: number }
  t.ok(entries.n < timestamps.length / 5, `a time entry per commit, not per record (${entries.n} for ${timestamps.length} records)`)
  const lowest = Math.min(...timestamps)
  const highest = Math.max(...timestamps)
  let checked = 0
  for (let target = lowest - 1000; target <= highest + 1000; target += 997) {
    await stream.seek('replay', partition, { timestamp: target })
    const offset = (await stream.committedOffsets('replay')).get(partition)
    if (offset !== firstAtOrAfter(timestamps, target)) t.fail(`at ${target}: offset ${offset}, expected ${firstAtOrAfter(timestamps, target)}`)
    checked++
  }
  t.ok(checked > 100, `${checked} times sought, each at the first record at or after it`)
  for (const ts of timestamps.slice(0, 50)) {
    await stream.seek('replay', partition, { timestamp: ts })
    t.equal((await stream.committedOffsets('replay')).get(partition), firstAtOrAfter(timestamps, ts), `exactly at ${ts}`)
  }
})

// A record produced with its message hands the message to a consumer in the process; its
// text, which the stream does not keep in memory for it, is still the text stored.
t.test('SQLite telemetry stream: a consumer in the process gets the message of a record and its stored text', async (t) => {
  const { stream } = streamInFreshDirectory(t, 2)
  const message: TelemetryMessage = { kind: 'sys', thingId: 'thing-a', accountId: 'acc', receivedAt: '2026-12-07T22:00:00.000Z', key: 'model', value: 'Pi' }
  const produced = [
    { ...telemetryRecordOf(message, Date.parse(message.receivedAt)) },
    { key: 'thing-a', value: '{"kind":"sys","accountId":"acc","key":"version","value":"1"}', timestamp: 1 },
  ]
  await stream.produce(produced)
  const batch = await within(
    new Promise<TelemetryBatch>((resolve) => {
      const consumer = stream.consume({ groupId: 'g' }, async (b) => {
        resolve(b)
        await consumer.stop().catch(() => undefined)
      })
    }),
    'a batch',
    10_000,
  )
  t.equal(batch.records[0]!.message, message, 'the message itself, not parsed again')
  t.strictSame(
    batch.records.map((r) => ({ key: r.key, value: r.value, timestamp: r.timestamp })),
    produced.map((r) => ({ key: r.key, value: r.value, timestamp: r.timestamp })),
    'key, text and timestamp as produced',
  )
  t.equal(batch.records[1]!.message, undefined, 'a record produced without a message has none')
})

// A produce that fails part-way gives back its offsets; the time entry of its group must
// not keep its records either, or the next group's entry would claim the same place.
t.test('SQLite telemetry stream: a produce that fails part-way leaves no time of its own in its group', async (t) => {
  const { db, stream } = streamInFreshDirectory(t, 1)
  const at = Date.UTC(2026, 0, 1)
  const outcomes = await Promise.allSettled([
    stream.produce([{ key: 'a', value: '{}', timestamp: at }]),
    // its first record is written, then its second fails: both are taken back
    stream.produce([{ key: 'a', value: '{}', timestamp: at + 60_000 }, { key: 'a', value: '{}', timestamp: Number.NaN }]),
  ])
  t.strictSame(outcomes.map((o) => o.status), ['fulfilled', 'rejected'])
  t.strictSame(db.prepare('SELECT max_ts, last_offset FROM telemetry_times').all(), [{ max_ts: at, last_offset: 0 }], 'the entry covers the record kept, with its time')
  t.strictSame(await stream.produce([{ key: 'a', value: '{}', timestamp: at + 1000 }]), [{ partition: 0, offset: 1 }], 'the next group takes the offset back')
  for (const [target, offset] of [[at, 0], [at + 1, 1], [at + 1000, 1], [at + 1001, 2]] as const) {
    await stream.seek('replay', 0, { timestamp: target })
    t.equal((await stream.committedOffsets('replay')).get(0), offset, `seeking to ${target - at} ms`)
  }
})

// A file written before the rowid layout keeps its table; its index on every record's time
// gives way to time entries computed from the records, once, when the stream opens.
t.test('SQLite telemetry stream: a database of the former layout is upgraded to the sparse time index', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'capsicum-seek-upgrade-'))
  const db = openDatabase(dir)
  db.exec(`
    CREATE TABLE telemetry (
      partition INTEGER NOT NULL, offset INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, ts INTEGER NOT NULL,
      PRIMARY KEY (partition, offset)
    ) WITHOUT ROWID;
    CREATE INDEX telemetry_time ON telemetry (partition, ts);
  `)
  // the clock set back an hour for the second thousand records
  const timestamps = wanderingTimestamps(2500, 11).map((ts, i) => (i >= 1000 && i < 2000 ? ts - 3_600_000 : ts))
  const insert = db.prepare('INSERT INTO telemetry (partition, offset, key, value, ts) VALUES (?, ?, ?, ?, ?)')
  db.transaction(() => timestamps.forEach((ts, offset) => insert.run(1, offset, 'thing', '{}', ts)))()
  const stream = new SqliteTelemetryStream(db, 2)
  t.teardown(async () => {
    await stream.close()
    db.close()
    rmSync(dir, { recursive: true, force: true })
  })
  t.equal((db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'telemetry_time'").get() as { n: number }).n, 0, 'the index on every time is gone')
  t.strictSame(
    db.prepare('SELECT last_offset FROM telemetry_times WHERE partition = 1 ORDER BY last_offset').all().map((row) => (row as { last_offset: number }).last_offset),
    [999, 1999, 2499],
    'an entry every 1,000 offsets and one at the end',
  )
  t.equal((await stream.endOffsets()).get(1), 2500, 'the offsets go on from the records')
  const later = timestamps.at(-1)! + 5000
  await stream.produce([{ key: 'thing', value: '{}', timestamp: later }].filter(() => stream.partitionFor('thing') === 1))
  const all = stream.partitionFor('thing') === 1 ? [...timestamps, later] : timestamps
  for (const target of [timestamps[0]! - 1, ...timestamps.filter((_, i) => i % 37 === 0), later, later + 1, Math.max(...timestamps) + 1]) {
    await stream.seek('replay', 1, { timestamp: target })
    const offset = (await stream.committedOffsets('replay')).get(1)
    if (offset !== firstAtOrAfter(all, target)) t.fail(`at ${target}: offset ${offset}, expected ${firstAtOrAfter(all, target)}`)
  }
  t.pass('every time sought in the upgraded records lands on the first record at or after it')
})
