/**
 * TelemetryWriter on the SQLite telemetry stream: a turn's records are one produce, at most
 * `maxBatch` of them, in the order written; each write resolves once its record is durable,
 * and a produce that fails rejects the writes of its batch only.
 */
import t from 'tap'
import { openDatabase } from '../../adapters/sqlite/database.ts'
import { SqliteTelemetryStream } from '../../adapters/stream/sqlite.ts'
import { TelemetryWriter } from '../../streams/telemetry-writer.ts'
import { tempDataDir } from '../helpers/server.ts'

const record = (n: number) => ({ key: 'thing-1', value: JSON.stringify({ n }), timestamp: 1_765_000_000_000 + n })

t.test('records written in one turn are produced in batches of at most maxBatch, in order, each write resolving once durable', async (t) => {
  const db = openDatabase(tempDataDir(t))
  t.teardown(() => db.close())
  const stream = new SqliteTelemetryStream(db, 1)
  const writer = new TelemetryWriter(stream, 4)
  const writes = Array.from({ length: 10 }, (_, n) => writer.write(record(n)))
  t.equal(writer.backlog, 10, 'nothing produced within the turn')
  t.equal(writes[0], writes[3], 'the records of one batch share their promise')
  t.not(writes[3], writes[4], 'the fifth starts the next batch')
  await Promise.all(writes)
  t.equal(writer.backlog, 0)
  const rows = db.prepare('SELECT offset, value FROM telemetry ORDER BY offset').all() as { offset: number; value: string }[]
  t.strictSame(rows.map((r) => JSON.parse(r.value).n), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'every record once, in the order written')
})

t.test('a produce that fails rejects the writes of its batch, and the writer goes on with the next', async (t) => {
  const db = openDatabase(tempDataDir(t))
  t.teardown(() => db.close())
  const stream = new SqliteTelemetryStream(db, 1)
  let failNext = true
  // the real stream, with one produce refused as a full disk would
  const writer = new TelemetryWriter({ produce: (records) => (failNext ? ((failNext = false), Promise.reject(new Error('disk full'))) : stream.produce(records)) }, 2)
  const writes = [0, 1, 2].map((n) => writer.write(record(n)))
  const outcomes = await Promise.allSettled(writes)
  t.strictSame(outcomes.map((o) => o.status), ['rejected', 'rejected', 'fulfilled'])
  await writer.drain()
  t.strictSame((db.prepare('SELECT value FROM telemetry').all() as { value: string }[]).map((r) => JSON.parse(r.value).n), [2])
})
