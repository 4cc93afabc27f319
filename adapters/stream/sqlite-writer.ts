/**
 * The writer thread of the SQLite telemetry stream (adapters/stream/sqlite.ts). It owns
 * every write to `telemetry.db`: inserting a group of records and its commit's fsync run
 * beside the event loop that serves the sockets, not on it. It is fed one group at a
 * time and answers each message, in order, once its transaction has committed.
 *
 * Records go to a rowid table, in the order they are written, with (partition, offset) as
 * its unique index. Keyed by (partition, offset) itself (WITHOUT ROWID), each commit
 * appended in as many places of the table's B-tree as partitions, splitting pages of
 * ~450-byte rows in the middle: a record cost about 9.5 µs of CPU to write and commit,
 * against 5. Seeking to a time goes by a sparse time index, one entry a partition and
 * commit (`telemetry_times`), not one a record.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { parentPort, workerData } from 'node:worker_threads'
import { commitDerived, openDatabase, type SqliteDatabase } from '../sqlite/database.ts'

export const telemetryFileName = 'telemetry.db'

const schema = `
  CREATE TABLE IF NOT EXISTS telemetry (
    partition INTEGER NOT NULL,
    offset    INTEGER NOT NULL,
    key       TEXT    NOT NULL,
    value     TEXT    NOT NULL,
    ts        INTEGER NOT NULL,
    PRIMARY KEY (partition, offset)
  );
  -- max_ts: the greatest timestamp of the partition up to last_offset, so it never decreases
  CREATE TABLE IF NOT EXISTS telemetry_times (
    partition   INTEGER NOT NULL,
    max_ts      INTEGER NOT NULL,
    last_offset INTEGER NOT NULL,
    PRIMARY KEY (partition, max_ts, last_offset)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS telemetry_offsets (
    group_id    TEXT    NOT NULL,
    partition   INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    PRIMARY KEY (group_id, partition)
  ) WITHOUT ROWID;
`

/** Opens `telemetry.db` in `dataDir`, its tables created, the stream of `capsicum.db` moved into it. */
export function openTelemetryFile(dataDir: string): SqliteDatabase {
  const db = openDatabase(dataDir, telemetryFileName)
  db.exec(schema)
  moveFormerStream(db, dataDir)
  return db
}

/**
 * Until 2026-12, the stream lived in `capsicum.db`, keyed by (partition, offset), with an
 * index on every record's time. Its records and offsets are copied here, time entries
 * computed from them (one every 1,000 offsets), and its tables dropped there. Each file
 * commits on its own: a crash between the two leaves the copy done and the drop to do,
 * and the copy ignores what it already copied.
 */
function moveFormerStream(db: SqliteDatabase, dataDir: string): void {
  if (!existsSync(join(dataDir, 'capsicum.db'))) return
  const former = openDatabase(dataDir)
  try {
    if (former.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'telemetry'").get() === undefined) return
    db.exec(`ATTACH DATABASE '${former.name.replaceAll("'", "''")}' AS former`)
    try {
      db.transaction(() => {
        db.exec(`
          INSERT OR IGNORE INTO telemetry (partition, offset, key, value, ts)
            SELECT partition, offset, key, value, ts FROM former.telemetry ORDER BY partition, offset;
          INSERT OR IGNORE INTO telemetry_times (partition, max_ts, last_offset)
            SELECT partition, max(greatest) OVER (PARTITION BY partition ORDER BY last_offset ROWS UNBOUNDED PRECEDING), last_offset
            FROM (SELECT partition, max(ts) AS greatest, max(offset) AS last_offset FROM former.telemetry GROUP BY partition, offset / 1000);
          INSERT OR IGNORE INTO telemetry_offsets (group_id, partition, next_offset)
            SELECT group_id, partition, next_offset FROM former.telemetry_offsets;
        `)
      })()
    } finally {
      db.exec('DETACH DATABASE former')
    }
    former.exec('DROP TABLE IF EXISTS telemetry_offsets; DROP TABLE telemetry')
  } finally {
    former.close()
  }
}

/** A group of records: [partition, offset, key, value, timestamp] one after another. */
export type FlatRecords = (number | string)[]

export type WriterRequest =
  /** `times`: [partition, max_ts, last_offset] one after another */
  | { readonly kind: 'append'; readonly records: FlatRecords; readonly times: number[] }
  /** `offsets`: [partition, next_offset] one after another */
  | { readonly kind: 'offsets'; readonly groupId: string; readonly offsets: number[] }
  | { readonly kind: 'close' }

/** The answer to each request but `close`, in the order of the requests. */
export interface WriterReply {
  readonly error?: string
}

function serve(dataDir: string): void {
  const port = parentPort!
  const db = openDatabase(dataDir, telemetryFileName)
  const insertRecord = db.prepare<[number, number, string, string, number]>(
    'INSERT INTO telemetry (partition, offset, key, value, ts) VALUES (?, ?, ?, ?, ?)',
  )
  const insertTimeEntry = db.prepare<[number, number, number]>('INSERT INTO telemetry_times (partition, max_ts, last_offset) VALUES (?, ?, ?)')
  const upsertOffset = db.prepare<[string, number, number]>(
    `INSERT INTO telemetry_offsets (group_id, partition, next_offset) VALUES (?, ?, ?)
     ON CONFLICT (group_id, partition) DO UPDATE SET next_offset = excluded.next_offset`,
  )
  const append = db.transaction((records: FlatRecords, times: number[]) => {
    for (let i = 0; i < records.length; i += 5) {
      insertRecord.run(records[i] as number, records[i + 1] as number, records[i + 2] as string, records[i + 3] as string, records[i + 4] as number)
    }
    for (let i = 0; i < times.length; i += 3) insertTimeEntry.run(times[i]!, times[i + 1]!, times[i + 2]!)
  })
  port.on('message', (request: WriterRequest) => {
    if (request.kind === 'close') {
      db.close()
      // ends this thread only; the loader's hooks would keep it alive otherwise
      process.exit(0)
    }
    try {
      if (request.kind === 'append') append(request.records, request.times)
      else {
        const { groupId, offsets } = request
        commitDerived(db, () => {
          for (let i = 0; i < offsets.length; i += 2) upsertOffset.run(groupId, offsets[i]!, offsets[i + 1]!)
        })
      }
      port.postMessage({} satisfies WriterReply)
    } catch (error) {
      port.postMessage({ error: error instanceof Error ? error.message : String(error) } satisfies WriterReply)
    }
  })
}

if (parentPort !== null && (workerData as { telemetryWriter?: string } | undefined)?.telemetryWriter !== undefined) {
  serve((workerData as { telemetryWriter: string }).telemetryWriter)
}
