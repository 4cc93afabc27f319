/**
 * EventStore on SQLite. Appends are group-committed (adapters/sqlite/group-commit.ts):
 * one transaction and one fsync per turn of the event loop, each append in a savepoint
 * where its expected revision is checked, so a conflict fails that append and nothing else.
 */
import { ConcurrencyError } from '../../domain/errors.ts'
import type {
  AppendResult,
  EventMetadata,
  EventStore,
  EventToAppend,
  ExpectedRevision,
  RecordedEvent,
  SubscribeOptions,
  SubscriptionHandler,
  Subscription,
} from '../../domain/ports/event-store.ts'
import type { SqliteDatabase } from '../sqlite/database.ts'
import { GroupCommit } from '../sqlite/group-commit.ts'
import { isJsonFaithful } from './json-faithful.ts'

interface Append {
  readonly streamName: string
  readonly events: readonly EventToAppend[]
  readonly expectedRevision: ExpectedRevision
}

/** A row as an array, in the order of `columns`: cheaper to build than an object per row. */
type EventRow = [position: number, id: string, stream: string, revision: number, type: string, data: string, metadata: string]

const columns = 'position, id, stream, revision, type, data, metadata'

// Streams get an integer id: the (stream_id, revision) index stays small and dense however
// long the names, which is what keeps a commit of many appends to many streams cheap.
// `events.stream` repeats the name so that reading the log needs no join.
const schema = `
  CREATE TABLE IF NOT EXISTS streams (
    id       INTEGER PRIMARY KEY,
    name     TEXT    NOT NULL UNIQUE,
    revision INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS events (
    position  INTEGER PRIMARY KEY,
    stream_id INTEGER NOT NULL REFERENCES streams (id),
    revision  INTEGER NOT NULL,
    stream    TEXT    NOT NULL,
    id        TEXT    NOT NULL,
    type      TEXT    NOT NULL,
    data      TEXT    NOT NULL,
    metadata  TEXT    NOT NULL,
    UNIQUE (stream_id, revision)
  );
`

interface StreamHead {
  readonly id: number
  readonly revision: number
}

/** How many stream heads stay in memory; older ones are read back from `streams`. */
const cachedHeads = 50_000

/**
 * An event as its readers see it, from the text in the table (or just written to it).
 * Data and metadata are parsed on first access, once however many followers read it:
 * projections rarely read metadata, and parsing it for every event was a third of a
 * rebuild's time. `given`: the data an append was given, when its text parses back to the
 * same (isJsonFaithful), so the followers of a new event need no parse at all. Events are
 * values: nobody changes an event's data once it is appended.
 */
function recordedEvent(
  position: number,
  id: string,
  streamName: string,
  revision: number,
  type: string,
  dataJson: string,
  metadataJson: string,
  given?: unknown,
): RecordedEvent {
  let data: unknown = given
  // the text only until the data is there: new events stay in memory for the followers
  let text: string | undefined = given === undefined ? dataJson : undefined
  let metadata: EventMetadata | undefined
  return {
    id,
    streamName,
    revision,
    position,
    type,
    get data(): unknown {
      if (text !== undefined) {
        data = JSON.parse(text)
        text = undefined
      }
      return data
    },
    get metadata(): EventMetadata {
      return (metadata ??= JSON.parse(metadataJson) as EventMetadata)
    },
  } as RecordedEvent
}

const toRecorded = ([position, id, stream, revision, type, data, metadata]: EventRow): RecordedEvent =>
  recordedEvent(position, id, stream, revision, type, data, metadata)

/**
 * How many of the newest events stay in memory for the followers: a follower that keeps
 * up reads them from there instead of querying and parsing the table (every follower
 * did so for every event, which cost a tenth of the CPU of a burst of readings). Bounded
 * by count and by the size of their data too: an event can hold hundreds of readings
 * (SensorReadingsRecorded), and once parsed its data stays with it.
 */
const tailSize = 10_000
const tailDataBytes = 4 * 1024 * 1024

function describe(revision: ExpectedRevision | number | null): string {
  return revision === null ? 'no_stream' : String(revision)
}

/** What the metrics see of the appends: each one's time to its commit, and each commit's size. */
export interface AppendObserver {
  appended(seconds: number): void
  committed(appends: number): void
}

export class SqliteEventStore implements EventStore {
  private readonly appends: GroupCommit<Append, AppendResult>
  private observer: AppendObserver | undefined
  /** appends in the group being committed */
  private groupAppends = 0
  /** heads written by the group being committed; they reach `heads` once it commits */
  private staged = new Map<string, StreamHead>()
  /** events written by the group being committed; they reach `tail` once it commits */
  private stagedEvents: RecordedEvent[] = []
  /** the newest committed events, contiguous by position (see `tailSize`), and the length of each one's data */
  private tail: RecordedEvent[] = []
  private tailSizes: number[] = []
  private tailBytes = 0
  /** the data lengths of `stagedEvents` */
  private stagedSizes: number[] = []
  private readonly listeners = new Set<() => void>()
  private closed = false

  /** heads of recently written streams: one process owns the file (see lock.ts) */
  private readonly heads = new Map<string, StreamHead>()
  private readonly selectStreamHead
  private readonly insertStream
  private readonly updateStreamHead
  private readonly insertEvent
  private readonly selectStream
  private readonly selectAll
  private readonly selectAllOfTypes
  private readonly selectHead

  constructor(
    private readonly db: SqliteDatabase,
    /** how often a live subscription looks for events written by another process */
    private readonly pollIntervalMs = 1000,
  ) {
    db.exec(schema)
    this.selectStreamHead = db.prepare<[string], StreamHead>('SELECT id, revision FROM streams WHERE name = ?')
    this.insertStream = db.prepare<[string, number]>('INSERT INTO streams (name, revision) VALUES (?, ?)')
    this.updateStreamHead = db.prepare<[number, number]>('UPDATE streams SET revision = ? WHERE id = ?')
    this.insertEvent = db.prepare<[number, number, string, string, string, string, string]>(
      'INSERT INTO events (stream_id, revision, stream, id, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)',
    )
    this.selectStream = db
      .prepare<[string, number], EventRow>(
        `SELECT ${columns} FROM events
         WHERE stream_id = (SELECT id FROM streams WHERE name = ?) AND revision >= ? ORDER BY revision`,
      )
      .raw(true)
    this.selectAll = db
      .prepare<[number, number], EventRow>(`SELECT ${columns} FROM events WHERE position > ? ORDER BY position LIMIT ?`)
      .raw(true)
    this.selectAllOfTypes = db
      .prepare<[number, number, string, number], EventRow>(
        `SELECT ${columns} FROM events WHERE position > ? AND position <= ? AND type IN (SELECT value FROM json_each(?))
         ORDER BY position LIMIT ?`,
      )
      .raw(true)
    this.selectHead = db.prepare<[], { position: number | null }>('SELECT max(position) AS position FROM events')
    this.appends = new GroupCommit(db, {
      begin: () => {
        this.staged = new Map()
        this.stagedEvents = []
        this.stagedSizes = []
        this.groupAppends = 0
      },
      write: (append) => {
        this.groupAppends++
        return this.appendWithinTransaction(append)
      },
      committed: () => {
        this.observer?.committed(this.groupAppends)
        for (const [name, head] of this.staged) this.remember(name, head)
        this.extendTail(this.stagedEvents, this.stagedSizes)
        for (const notify of this.listeners) notify()
      },
      abandoned: () => {
        this.staged = new Map()
        this.stagedEvents = []
        this.stagedSizes = []
      },
    })
  }

  appendToStream(
    streamName: string,
    events: readonly EventToAppend[],
    options: { readonly expectedRevision: ExpectedRevision },
  ): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new Error('event store is closed'))
    if (events.length === 0) return Promise.reject(new RangeError(`An append to ${streamName} needs at least one event`))
    const appended = this.appends.submit({ streamName, events, expectedRevision: options.expectedRevision })
    const observer = this.observer
    if (observer === undefined) return appended
    const started = performance.now()
    return appended.then((result) => {
      observer.appended((performance.now() - started) / 1000)
      return result
    })
  }

  /** Reports each append's time to its commit and each commit's size (the metrics). */
  observe(observer: AppendObserver): void {
    this.observer = observer
  }

  private remember(name: string, head: StreamHead): void {
    this.heads.delete(name)
    this.heads.set(name, head)
    if (this.heads.size > cachedHeads) this.heads.delete(this.heads.keys().next().value!)
  }

  private extendTail(events: readonly RecordedEvent[], sizes: readonly number[]): void {
    if (events.length === 0) return
    const last = this.tail[this.tail.length - 1]
    // a gap (another writer's events) would hide events from the followers: start over
    if (last !== undefined && events[0]!.position !== last.position + 1) {
      this.tail = []
      this.tailSizes = []
      this.tailBytes = 0
    }
    for (let i = 0; i < events.length; i++) {
      this.tail.push(events[i]!)
      this.tailSizes.push(sizes[i]!)
      this.tailBytes += sizes[i]!
    }
    // trimmed to half of each bound once past it, so the copying is paid rarely
    if (this.tail.length > tailSize * 2 || this.tailBytes > tailDataBytes * 2) {
      let drop = Math.max(0, this.tail.length - tailSize)
      let bytes = this.tailBytes
      for (let i = 0; i < drop; i++) bytes -= this.tailSizes[i]!
      while (bytes > tailDataBytes && drop < this.tail.length - 1) bytes -= this.tailSizes[drop++]!
      this.tail = this.tail.slice(drop)
      this.tailSizes = this.tailSizes.slice(drop)
      this.tailBytes = bytes
    }
  }

  /** Committed events after `position` from memory; null when the tail does not reach back to it. */
  private fromTail(position: number | null, types: ReadonlySet<string> | null, maxBatch: number): { events: RecordedEvent[]; through: number } | null {
    // positions are rowids, from 1: "from the start" is "after 0"
    const after = position ?? 0
    const first = this.tail[0]
    if (first === undefined || first.position > after + 1) return null
    const last = this.tail[this.tail.length - 1]!
    if (last.position <= after) return null
    const events: RecordedEvent[] = []
    for (let i = after + 1 - first.position; i < this.tail.length; i++) {
      const event = this.tail[i]!
      if (types !== null && !types.has(event.type)) continue
      events.push(event)
      if (events.length === maxBatch) return { events, through: event.position }
    }
    return { events, through: last.position }
  }

  private headOf(name: string): StreamHead | undefined {
    return this.staged.get(name) ?? this.heads.get(name) ?? this.selectStreamHead.get(name)
  }

  /**
   * Checks the expected revision and writes the events, inside the group's transaction;
   * throws (rolling back its savepoint, changing no head) on failure.
   */
  private appendWithinTransaction(append: Append): AppendResult {
    const head = this.headOf(append.streamName)
    const current = head?.revision ?? null
    const expected = append.expectedRevision
    const holds =
      expected === 'any' ||
      (expected === 'no_stream' && current === null) ||
      (expected === 'stream_exists' && current !== null) ||
      (typeof expected === 'number' && current === expected)
    if (!holds) throw new ConcurrencyError(append.streamName, describe(expected), describe(current))

    const streamId = head?.id ?? Number(this.insertStream.run(append.streamName, -1).lastInsertRowid)
    let revision = current ?? -1
    let position = -1
    // The events of one append usually share their metadata: serialize it once.
    let metadata: unknown
    let metadataJson = ''
    const written: RecordedEvent[] = []
    const sizes: number[] = []
    for (const event of append.events) {
      revision += 1
      if (event.metadata !== metadata) {
        metadata = event.metadata
        metadataJson = JSON.stringify(event.metadata)
      }
      const dataJson = JSON.stringify(event.data)
      const info = this.insertEvent.run(streamId, revision, append.streamName, event.id, event.type, dataJson, metadataJson)
      position = Number(info.lastInsertRowid)
      written.push(recordedEvent(position, event.id, append.streamName, revision, event.type, dataJson, metadataJson, isJsonFaithful(event.data) ? event.data : undefined))
      sizes.push(dataJson.length)
    }
    // after the savepoint's last statement: a failed append stages nothing
    this.stagedEvents.push(...written)
    this.stagedSizes.push(...sizes)
    this.updateStreamHead.run(revision, streamId)
    this.staged.set(append.streamName, { id: streamId, revision })
    return { nextRevision: revision, position }
  }

  async streamRevision(streamName: string): Promise<number> {
    // committed heads only: `staged` belongs to a transaction that may still roll back
    return (this.heads.get(streamName) ?? this.selectStreamHead.get(streamName))?.revision ?? -1
  }

  async readStream(streamName: string, options: { readonly fromRevision?: number } = {}): Promise<RecordedEvent[]> {
    return this.selectStream.all(streamName, options.fromRevision ?? 0).map(toRecorded)
  }

  async readAll(options: { readonly fromPosition: number | null; readonly maxCount: number }): Promise<RecordedEvent[]> {
    return this.readAllNow(options.fromPosition, options.maxCount)
  }

  private readAllNow(fromPosition: number | null, maxCount: number): RecordedEvent[] {
    return this.selectAll.all(fromPosition ?? -1, maxCount).map(toRecorded)
  }

  subscribeToAll(options: SubscribeOptions, handler: SubscriptionHandler): Subscription {
    const maxBatch = options.maxBatch ?? 1000
    let position = options.fromPosition
    let stopped = false
    let wake: (() => void) | undefined
    const notify = (): void => wake?.()
    this.listeners.add(notify)

    const types = options.eventTypes === undefined ? null : JSON.stringify(options.eventTypes)
    const typeSet = options.eventTypes === undefined ? null : new Set<string>(options.eventTypes)
    /** the next batch and the position it looks through; null when nothing is new */
    const next = (): { events: RecordedEvent[]; through: number } | null => {
      const recent = this.fromTail(position, typeSet, maxBatch)
      if (recent !== null) return recent
      if (types === null) {
        const events = this.readAllNow(position, maxBatch)
        return events.length === 0 ? null : { events, through: events[events.length - 1]!.position }
      }
      const head = this.selectHead.get()?.position ?? null
      if (head === null || (position !== null && head <= position)) return null
      const events = this.selectAllOfTypes.all(position ?? -1, head, types, maxBatch).map(toRecorded)
      return { events, through: events.length === maxBatch ? events[events.length - 1]!.position : head }
    }

    const run = async (): Promise<void> => {
      while (!stopped) {
        const batch = next()
        if (batch === null) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, this.pollIntervalMs)
            wake = () => {
              clearTimeout(timer)
              resolve()
            }
          })
          wake = undefined
          continue
        }
        await handler(batch.events, batch.through)
        position = batch.through
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

  async headPosition(): Promise<number | null> {
    return this.selectHead.get()?.position ?? null
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get()
  }

  /** Writes what is queued, then refuses further appends. The database is closed by its owner. */
  async close(): Promise<void> {
    this.appends.flush()
    this.closed = true
  }
}
