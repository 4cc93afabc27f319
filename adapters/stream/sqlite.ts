/**
 * TelemetryStream on SQLite: a partitioned log in one table, consumer offsets in
 * another. Records are partitioned by a hash of their key, so one thing's readings keep
 * their order. Produces are group-committed like event appends. One process owns the
 * file (see adapters/sqlite/lock.ts), so next offsets are kept in memory.
 *
 * The records live in a rowid table, in the order they were written, with (partition,
 * offset) as its unique index. Keyed by (partition, offset) itself (WITHOUT ROWID), each
 * commit appended in 16 places of the table's B-tree, splitting pages of ~450-byte rows
 * in the middle: a record cost about 9.5 µs of CPU to write and commit, against 5 now.
 * Seeking to a time goes by a sparse time index (`telemetry_times`), one entry a
 * partition and commit, not one a record (see `firstOffsetAtOrAfterTime`).
 */
import type {
  ConsumeOptions,
  SeekTarget,
  TelemetryBatch,
  TelemetryConsumer,
  TelemetryRecord,
  TelemetryRecordToProduce,
  TelemetryStream,
} from '../../domain/ports/telemetry-stream.ts'
import type { TelemetryMessage } from '../../domain/telemetry/telemetry-message.ts'
import type { Statement } from 'better-sqlite3'
import { commitDerived, type SqliteDatabase } from '../sqlite/database.ts'
import { GroupCommit } from '../sqlite/group-commit.ts'

/**
 * Tables of a database written before the rowid layout and the sparse time index keep
 * their layout; their time index is replaced by entries this many offsets apart.
 */
const legacyTimeEntrySpan = 1000

interface TimeEntry {
  greatest: number
  lastOffset: number
}

interface RecordRow {
  partition: number
  offset: number
  key: string
  value: string
  ts: number
}

/** FNV-1a: a stable, fast string hash, so a key always lands in the same partition. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

/**
 * A record in memory that carries its message: its text is read back from the table when
 * asked for (the processor takes the message instead), so the newest records kept for the
 * consumers do not each hold their ~300 bytes of text, which every scavenge copied.
 */
class RecordWithMessage implements TelemetryRecord {
  constructor(
    readonly partition: number,
    readonly offset: number,
    readonly key: string,
    readonly timestamp: number,
    readonly message: TelemetryMessage,
    private readonly selectValue: Statement<[number, number], { value: string }>,
  ) {}

  get value(): string {
    return this.selectValue.get(this.partition, this.offset)!.value
  }
}

/**
 * How many of each partition's newest records stay in memory: a consumer that keeps up
 * reads them from there rather than from the table.
 */
const recentPerPartition = 2048

export class SqliteTelemetryStream implements TelemetryStream {
  private readonly nextOffsets: number[]
  /** per partition, the greatest timestamp written so far (timestamps may go back: clocks do) */
  private readonly greatestTimestamps: number[]
  /** per partition, its newest committed records, contiguous by offset */
  private readonly recent: TelemetryRecord[][]
  /** records written by the group being committed; they reach `recent` once it commits */
  private staged: TelemetryRecord[] = []
  private readonly produces: GroupCommit<readonly TelemetryRecordToProduce[], { partition: number; offset: number }[]>
  private readonly listeners = new Set<() => void>()

  private readonly insertRecord
  private readonly selectRecords
  private readonly selectValue
  private readonly selectOffsets
  private readonly upsertOffset
  private readonly insertTimeEntry
  private readonly lastEntryBefore
  private readonly firstOffsetAtOrAfter

  constructor(
    private readonly db: SqliteDatabase,
    readonly partitionCount = 16,
    private readonly pollIntervalMs = 1000,
  ) {
    if (!Number.isInteger(partitionCount) || partitionCount < 1) throw new RangeError('partitionCount must be >= 1')
    const indexedByTime = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'telemetry_time'").get() !== undefined
    db.exec(`
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
    `)
    if (indexedByTime) replaceTimeIndex(db)
    const maxOffset = db.prepare<[number], { offset: number | null }>(
      'SELECT max(offset) AS offset FROM telemetry WHERE partition = ?',
    )
    this.nextOffsets = Array.from({ length: partitionCount }, (_, p) => (maxOffset.get(p)?.offset ?? -1) + 1)
    const maxTimestamp = db.prepare<[number], { ts: number | null }>('SELECT max(max_ts) AS ts FROM telemetry_times WHERE partition = ?')
    this.greatestTimestamps = Array.from({ length: partitionCount }, (_, p) => maxTimestamp.get(p)?.ts ?? Number.NEGATIVE_INFINITY)
    this.recent = Array.from({ length: partitionCount }, () => [])
    this.insertRecord = db.prepare<[number, number, string, string, number]>(
      'INSERT INTO telemetry (partition, offset, key, value, ts) VALUES (?, ?, ?, ?, ?)',
    )
    this.selectRecords = db.prepare<[number, number, number], RecordRow>(
      'SELECT partition, offset, key, value, ts FROM telemetry WHERE partition = ? AND offset >= ? ORDER BY offset LIMIT ?',
    )
    this.selectValue = db.prepare<[number, number], { value: string }>('SELECT value FROM telemetry WHERE partition = ? AND offset = ?')
    this.selectOffsets = db.prepare<[string], { partition: number; next_offset: number }>(
      'SELECT partition, next_offset FROM telemetry_offsets WHERE group_id = ?',
    )
    this.upsertOffset = db.prepare<[string, number, number]>(
      `INSERT INTO telemetry_offsets (group_id, partition, next_offset) VALUES (?, ?, ?)
       ON CONFLICT (group_id, partition) DO UPDATE SET next_offset = excluded.next_offset`,
    )
    this.insertTimeEntry = db.prepare<[number, number, number]>('INSERT INTO telemetry_times (partition, max_ts, last_offset) VALUES (?, ?, ?)')
    this.lastEntryBefore = db.prepare<[number, number], { last_offset: number }>(
      'SELECT last_offset FROM telemetry_times WHERE partition = ? AND max_ts < ? ORDER BY max_ts DESC, last_offset DESC LIMIT 1',
    )
    this.firstOffsetAtOrAfter = db.prepare<[number, number, number], { offset: number }>(
      'SELECT offset FROM telemetry WHERE partition = ? AND offset >= ? AND ts >= ? ORDER BY offset LIMIT 1',
    )
    let offsetsBeforeGroup: number[] = []
    let groupTimes = new Map<number, TimeEntry>()
    this.produces = new GroupCommit(db, {
      begin: () => {
        offsetsBeforeGroup = [...this.nextOffsets]
        this.staged = []
      },
      write: (records) => this.produceWithinTransaction(records),
      beforeCommit: () => {
        groupTimes = this.timeEntriesOf(this.staged)
        for (const [partition, { greatest, lastOffset }] of groupTimes) this.insertTimeEntry.run(partition, greatest, lastOffset)
      },
      committed: () => {
        for (const record of this.staged) this.remember(record)
        for (const [partition, { greatest }] of groupTimes) this.greatestTimestamps[partition] = greatest
        this.staged = []
        for (const notify of this.listeners) notify()
      },
      abandoned: () => {
        offsetsBeforeGroup.forEach((offset, p) => (this.nextOffsets[p] = offset))
        this.staged = []
      },
    })
  }

  partitionFor(key: string): number {
    return fnv1a(key) % this.partitionCount
  }

  produce(records: readonly TelemetryRecordToProduce[]): Promise<{ partition: number; offset: number }[]> {
    return this.produces.submit(records)
  }

  /** Writes one produce's records; a produce that fails gives its offsets back. */
  private produceWithinTransaction(records: readonly TelemetryRecordToProduce[]): { partition: number; offset: number }[] {
    const before = [...this.nextOffsets]
    try {
      const written = records.map((record): TelemetryRecord => {
        const partition = this.partitionFor(record.key)
        const offset = this.nextOffsets[partition]!
        this.insertRecord.run(partition, offset, record.key, record.value, record.timestamp)
        this.nextOffsets[partition] = offset + 1
        const { key, value, timestamp, message } = record
        // the recent records hand the message itself to the consumers in this process
        return message === undefined ? { partition, offset, key, value, timestamp } : new RecordWithMessage(partition, offset, key, timestamp, message, this.selectValue)
      })
      this.staged.push(...written)
      return written.map(({ partition, offset }) => ({ partition, offset }))
    } catch (error) {
      before.forEach((offset, p) => (this.nextOffsets[p] = offset))
      throw error
    }
  }

  /**
   * The time entry of each partition a group wrote: its greatest timestamp so far and the
   * group's last offset. From the records the group kept: a produce that failed left none.
   */
  private timeEntriesOf(records: readonly TelemetryRecord[]): Map<number, TimeEntry> {
    const entries = new Map<number, TimeEntry>()
    for (const { partition, offset, timestamp } of records) {
      const entry = entries.get(partition)
      if (entry === undefined) entries.set(partition, { greatest: Math.max(this.greatestTimestamps[partition]!, timestamp), lastOffset: offset })
      else {
        if (timestamp > entry.greatest) entry.greatest = timestamp
        entry.lastOffset = offset
      }
    }
    return entries
  }

  private remember(record: TelemetryRecord): void {
    const recent = this.recent[record.partition]!
    const last = recent[recent.length - 1]
    if (last !== undefined && record.offset !== last.offset + 1) recent.length = 0
    recent.push(record)
    if (recent.length > recentPerPartition * 2) recent.splice(0, recent.length - recentPerPartition)
  }

  /** A partition's records from `from` on, out of memory; null when memory does not reach back that far. */
  private recentRecords(partition: number, from: number, maxBatch: number): TelemetryRecord[] | null {
    const recent = this.recent[partition]!
    const first = recent[0]
    if (first === undefined || first.offset > from) return null
    const start = from - first.offset
    return recent.slice(start, start + maxBatch)
  }

  consume(options: ConsumeOptions, handler: (batch: TelemetryBatch) => Promise<void>): TelemetryConsumer {
    const maxBatch = options.maxBatch ?? 1000
    let stopped = false
    let wake: (() => void) | undefined
    const notify = (): void => wake?.()
    this.listeners.add(notify)

    const run = async (): Promise<void> => {
      while (!stopped) {
        // Offsets are re-read every round so that a seek takes effect on a running consumer.
        const committed = await this.committedOffsets(options.groupId)
        const batches: TelemetryBatch[] = []
        for (let partition = 0; partition < this.partitionCount && !stopped; partition++) {
          const from = committed.get(partition) ?? 0
          const records =
            this.recentRecords(partition, from, maxBatch) ??
            this.selectRecords.all(partition, from, maxBatch).map((row) => ({
              partition: row.partition,
              offset: row.offset,
              key: row.key,
              value: row.value,
              timestamp: row.ts,
            }))
          if (records.length > 0) batches.push({ partition, records })
        }
        // Partitions are independent, so their batches are handled together (as Kafka's
        // concurrent partitions are): what the handlers write lands in one group commit,
        // and the offsets of those that succeeded are committed in one transaction.
        const outcomes = await Promise.allSettled(batches.map((batch) => handler(batch)))
        const succeeded = batches.filter((_, i) => outcomes[i]!.status === 'fulfilled')
        this.commitOffsets(options.groupId, succeeded)
        const failed = outcomes.find((outcome) => outcome.status === 'rejected')
        if (failed) throw failed.reason
        const delivered = batches.length > 0
        if (!delivered && !stopped) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, this.pollIntervalMs)
            wake = () => {
              clearTimeout(timer)
              resolve()
            }
          })
          wake = undefined
        }
      }
    }
    const running = run().catch((error: unknown) => {
      this.listeners.delete(notify)
      if (options.onError) options.onError(error)
      else throw error
    })
    return {
      stop: async () => {
        stopped = true
        this.listeners.delete(notify)
        wake?.()
        await running
      },
    }
  }

  private commitOffsets(groupId: string, batches: readonly TelemetryBatch[]): void {
    if (batches.length === 0) return
    commitDerived(this.db, () => {
      for (const { partition, records } of batches) this.upsertOffset.run(groupId, partition, records[records.length - 1]!.offset + 1)
    })
  }

  async seek(groupId: string, partition: number, target: SeekTarget): Promise<void> {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitionCount) {
      throw new RangeError(`partition must be between 0 and ${this.partitionCount - 1}`)
    }
    const offset = 'offset' in target ? target.offset : this.firstOffsetAtOrAfterTime(partition, target.timestamp)
    this.upsertOffset.run(groupId, partition, Math.max(0, Math.min(offset, this.nextOffsets[partition]!)))
  }

  /**
   * The first record of the partition, in offset order, whose timestamp is at or after
   * `timestamp`. Every record up to a time entry's last offset is older than its max_ts, so
   * the search starts after the last entry older than `timestamp`; the next entry's max_ts is
   * not, so it ends within that entry's records.
   */
  private firstOffsetAtOrAfterTime(partition: number, timestamp: number): number {
    const from = (this.lastEntryBefore.get(partition, timestamp)?.last_offset ?? -1) + 1
    return this.firstOffsetAtOrAfter.get(partition, from, timestamp)?.offset ?? this.nextOffsets[partition]!
  }

  async endOffsets(): Promise<Map<number, number>> {
    return new Map(this.nextOffsets.map((offset, partition) => [partition, offset]))
  }

  async committedOffsets(groupId: string): Promise<Map<number, number>> {
    return new Map(this.selectOffsets.all(groupId).map((row) => [row.partition, row.next_offset]))
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get()
  }

  async close(): Promise<void> {
    this.produces.flush()
  }
}

/**
 * A database written before the sparse time index: entries for its records, computed from
 * them (`legacyTimeEntrySpan` offsets apart), in place of the index on every record's time.
 */
function replaceTimeIndex(db: SqliteDatabase): void {
  db.transaction(() => {
    db.prepare(
      `INSERT INTO telemetry_times (partition, max_ts, last_offset)
       SELECT partition, max(greatest) OVER (PARTITION BY partition ORDER BY last_offset ROWS UNBOUNDED PRECEDING), last_offset
       FROM (SELECT partition, max(ts) AS greatest, max(offset) AS last_offset FROM telemetry GROUP BY partition, offset / ${legacyTimeEntrySpan})`,
    ).run()
    db.exec('DROP INDEX telemetry_time')
  })()
}
