/**
 * TelemetryStream on SQLite: a partitioned log in `telemetry.db`, a file of its own, with
 * the consumer offsets. Records are partitioned by a hash of their key, so one thing's
 * readings keep their order. One process owns the file (see adapters/sqlite/lock.ts), so
 * next offsets are kept in memory, and this thread gives each record its offset.
 *
 * A writer thread (sqlite-writer.ts) does every write: the produces of a turn of the event
 * loop, and those queued while a group is being written, go to it as one group, one
 * transaction and one fsync, and each produce resolves once its group is durable. The
 * reads (a consumer behind what memory holds, offsets, seeking) run here, on a connection
 * of their own; WAL lets them run beside the writer.
 */
import type { Worker } from 'node:worker_threads'
import type {
  ConsumeOptions,
  SeekTarget,
  TelemetryBatch,
  TelemetryConsumer,
  TelemetryRecord,
  TelemetryRecordToProduce,
  TelemetryStream,
} from '../../domain/ports/telemetry-stream.ts'
import type { SqliteDatabase } from '../sqlite/database.ts'
import { startTypeScriptWorker } from '../worker.ts'
import { openTelemetryFile, type FlatRecords, type WriterReply, type WriterRequest } from './sqlite-writer.ts'

interface RecordRow {
  partition: number
  offset: number
  key: string
  value: string
  ts: number
}

interface Position {
  readonly partition: number
  readonly offset: number
}

interface QueuedProduce {
  readonly records: readonly TelemetryRecordToProduce[]
  readonly resolve: (positions: Position[]) => void
  readonly reject: (error: unknown) => void
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
 * How many of each partition's newest records stay in memory: a consumer that keeps up
 * reads them from there rather than from the table.
 */
const recentPerPartition = 2048

/** What the writer thread must store of a record; anything else fails that produce alone, before it is queued. */
function isStorable(record: TelemetryRecordToProduce): boolean {
  return typeof record.key === 'string' && typeof record.value === 'string' && Number.isFinite(record.timestamp)
}

export class SqliteTelemetryStream implements TelemetryStream {
  private readonly db: SqliteDatabase
  private readonly writer: Worker
  private readonly nextOffsets: number[]
  /** per partition, the greatest timestamp written so far (timestamps may go back: clocks do) */
  private readonly greatestTimestamps: number[]
  /** per partition, its newest committed records, contiguous by offset */
  private readonly recent: TelemetryRecord[][]
  private readonly listeners = new Set<() => void>()
  /** produces not yet sent to the writer */
  private queued: QueuedProduce[] = []
  private sendScheduled = false
  /** the group the writer is writing; the next one waits for it */
  private inFlight: Promise<void> | undefined
  /** what each request sent to the writer waits for: the writer answers in order */
  private readonly answers: { resolve: () => void; reject: (error: Error) => void }[] = []
  /** why the writer thread is gone, once it is */
  private writerGone: Error | undefined
  private closing: Promise<void> | undefined

  private readonly selectRecords
  private readonly selectOffsets
  private readonly lastEntryBefore
  private readonly firstOffsetAtOrAfter

  constructor(
    dataDir: string,
    readonly partitionCount = 16,
    private readonly pollIntervalMs = 1000,
  ) {
    if (!Number.isInteger(partitionCount) || partitionCount < 1) throw new RangeError('partitionCount must be >= 1')
    const db = (this.db = openTelemetryFile(dataDir))
    const maxOffset = db.prepare<[number], { offset: number | null }>('SELECT max(offset) AS offset FROM telemetry WHERE partition = ?')
    this.nextOffsets = Array.from({ length: partitionCount }, (_, p) => (maxOffset.get(p)?.offset ?? -1) + 1)
    const maxTimestamp = db.prepare<[number], { ts: number | null }>('SELECT max(max_ts) AS ts FROM telemetry_times WHERE partition = ?')
    this.greatestTimestamps = Array.from({ length: partitionCount }, (_, p) => maxTimestamp.get(p)?.ts ?? Number.NEGATIVE_INFINITY)
    this.recent = Array.from({ length: partitionCount }, () => [])
    this.selectRecords = db.prepare<[number, number, number], RecordRow>(
      'SELECT partition, offset, key, value, ts FROM telemetry WHERE partition = ? AND offset >= ? ORDER BY offset LIMIT ?',
    )
    this.selectOffsets = db.prepare<[string], { partition: number; next_offset: number }>(
      'SELECT partition, next_offset FROM telemetry_offsets WHERE group_id = ?',
    )
    this.lastEntryBefore = db.prepare<[number, number], { last_offset: number }>(
      'SELECT last_offset FROM telemetry_times WHERE partition = ? AND max_ts < ? ORDER BY max_ts DESC, last_offset DESC LIMIT 1',
    )
    this.firstOffsetAtOrAfter = db.prepare<[number, number, number], { offset: number }>(
      'SELECT offset FROM telemetry WHERE partition = ? AND offset >= ? AND ts >= ? ORDER BY offset LIMIT 1',
    )
    this.writer = startTypeScriptWorker(new URL('./sqlite-writer.ts', import.meta.url), { telemetryWriter: dataDir })
    // the stream's close() ends it; until then it must not keep a process alive on its own
    this.writer.unref()
    this.writer.on('message', (reply: WriterReply) => {
      const answer = this.answers.shift()
      if (reply.error === undefined) answer?.resolve()
      else answer?.reject(new Error(reply.error))
    })
    this.writer.on('error', (error) => this.lostWriter(error))
    this.writer.on('exit', (code) => this.lostWriter(new Error(`the telemetry writer thread exited (code ${code})`)))
  }

  private lostWriter(error: Error): void {
    this.writerGone ??= error
    for (const answer of this.answers.splice(0)) answer.reject(this.writerGone)
  }

  /** Sends a request to the writer thread; resolves once it has done it. */
  private ask(request: WriterRequest): Promise<void> {
    if (this.writerGone !== undefined) return Promise.reject(this.writerGone)
    return new Promise((resolve, reject) => {
      this.answers.push({ resolve, reject })
      this.writer.postMessage(request)
    })
  }

  partitionFor(key: string): number {
    return fnv1a(key) % this.partitionCount
  }

  produce(records: readonly TelemetryRecordToProduce[]): Promise<Position[]> {
    if (this.closing !== undefined) return Promise.reject(new Error('the telemetry stream is closed'))
    if (!records.every(isStorable)) return Promise.reject(new TypeError('a record needs a text key, a text value and a finite timestamp'))
    if (records.length === 0) return Promise.resolve([])
    return new Promise((resolve, reject) => {
      this.queued.push({ records, resolve, reject })
      if (this.inFlight === undefined && !this.sendScheduled) {
        this.sendScheduled = true
        setImmediate(() => {
          this.sendScheduled = false
          this.sendQueued()
        })
      }
    })
  }

  /**
   * Gives the queued produces their offsets and sends them to the writer as one group.
   * Once it is durable, its records join the recent ones and the produces resolve; if it
   * fails, they reject and give their offsets back. Then the produces queued meanwhile go.
   */
  private sendQueued(): void {
    if (this.inFlight !== undefined || this.queued.length === 0) return
    const group = this.queued
    this.queued = []
    const offsetsBefore = this.nextOffsets.slice()
    const records: FlatRecords = []
    const written: TelemetryRecord[] = []
    const positions: Position[][] = []
    /** per partition written: its greatest timestamp so far and the group's last offset */
    const times = new Map<number, { greatest: number; lastOffset: number }>()
    for (const produce of group) {
      const positionsOfProduce: Position[] = []
      for (const { key, value, timestamp, message } of produce.records) {
        const partition = this.partitionFor(key)
        const offset = this.nextOffsets[partition]!++
        records.push(partition, offset, key, value, timestamp)
        // the recent records hand the message itself to the consumers in this process
        written.push(message === undefined ? { partition, offset, key, value, timestamp } : { partition, offset, key, value, timestamp, message })
        positionsOfProduce.push({ partition, offset })
        const time = times.get(partition)
        if (time === undefined) times.set(partition, { greatest: Math.max(this.greatestTimestamps[partition]!, timestamp), lastOffset: offset })
        else {
          if (timestamp > time.greatest) time.greatest = timestamp
          time.lastOffset = offset
        }
      }
      positions.push(positionsOfProduce)
    }
    const timeEntries: number[] = []
    for (const [partition, { greatest, lastOffset }] of times) timeEntries.push(partition, greatest, lastOffset)
    this.inFlight = this.ask({ kind: 'append', records, times: timeEntries }).then(
      () => {
        for (const record of written) this.remember(record)
        for (const [partition, { greatest }] of times) this.greatestTimestamps[partition] = greatest
        group.forEach(({ resolve }, i) => resolve(positions[i]!))
        this.groupDone()
        for (const notify of this.listeners) notify()
      },
      (error: unknown) => {
        offsetsBefore.forEach((offset, partition) => (this.nextOffsets[partition] = offset))
        for (const { reject } of group) reject(error)
        this.groupDone()
      },
    )
  }

  private groupDone(): void {
    this.inFlight = undefined
    this.sendQueued()
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
        await this.commitOffsets(options.groupId, succeeded)
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

  private async commitOffsets(groupId: string, batches: readonly TelemetryBatch[]): Promise<void> {
    if (batches.length === 0) return
    const offsets: number[] = []
    for (const { partition, records } of batches) offsets.push(partition, records[records.length - 1]!.offset + 1)
    await this.ask({ kind: 'offsets', groupId, offsets })
  }

  async seek(groupId: string, partition: number, target: SeekTarget): Promise<void> {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitionCount) {
      throw new RangeError(`partition must be between 0 and ${this.partitionCount - 1}`)
    }
    const offset = 'offset' in target ? target.offset : this.firstOffsetAtOrAfterTime(partition, target.timestamp)
    await this.ask({ kind: 'offsets', groupId, offsets: [partition, Math.max(0, Math.min(offset, this.nextOffsets[partition]!))] })
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
    if (this.writerGone !== undefined) throw this.writerGone
    this.db.prepare('SELECT 1').get()
  }

  /** Writes the produces still queued or in flight, then stops the writer thread. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      while (this.inFlight !== undefined || this.queued.length > 0) {
        this.sendQueued()
        await this.inFlight
      }
      if (this.writerGone === undefined) {
        const exited = new Promise<void>((resolve) => this.writer.once('exit', () => resolve()))
        this.writer.ref()
        this.writer.postMessage({ kind: 'close' } satisfies WriterRequest)
        await exited
      }
      this.db.close()
    })())
  }
}
