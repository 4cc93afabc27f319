/**
 * EventStore on SQLite. Appends are queued and written by one transaction per turn of
 * the event loop (group commit): many concurrent appends cost one fsync, yet each
 * promise resolves only after its transaction is durable. Each append runs in a savepoint
 * of that transaction, where its expected revision is checked, so a conflict (or any other
 * failure of one append) rolls back and fails that append and nothing else.
 */
import { ConcurrencyError } from '../../domain/errors.ts'
import type {
  AppendResult,
  EventStore,
  EventToAppend,
  ExpectedRevision,
  RecordedEvent,
  SubscribeOptions,
  Subscription,
} from '../../commands/event-store.ts'
import type { SqliteDatabase } from '../sqlite/database.ts'

interface PendingAppend {
  readonly streamName: string
  readonly events: readonly EventToAppend[]
  readonly expectedRevision: ExpectedRevision
  readonly resolve: (result: AppendResult) => void
  readonly reject: (error: unknown) => void
}

/** What one append of a group commit came to: its result, or why it failed. */
type AppendOutcome = AppendResult | { readonly failed: unknown }

interface EventRow {
  position: number
  id: string
  stream: string
  revision: number
  type: string
  data: string
  metadata: string
}

const schema = `
  CREATE TABLE IF NOT EXISTS events (
    position INTEGER PRIMARY KEY,
    id       TEXT    NOT NULL,
    stream   TEXT    NOT NULL,
    revision INTEGER NOT NULL,
    type     TEXT    NOT NULL,
    data     TEXT    NOT NULL,
    metadata TEXT    NOT NULL,
    UNIQUE (stream, revision)
  );
`

const toRecorded = (row: EventRow): RecordedEvent => ({
  id: row.id,
  streamName: row.stream,
  revision: row.revision,
  position: row.position,
  type: row.type,
  data: JSON.parse(row.data) as unknown,
  metadata: JSON.parse(row.metadata) as RecordedEvent['metadata'],
})

function describe(revision: ExpectedRevision | number | null): string {
  return revision === null ? 'no_stream' : String(revision)
}

export class SqliteEventStore implements EventStore {
  private pending: PendingAppend[] = []
  private flushScheduled = false
  private readonly listeners = new Set<() => void>()
  private closed = false

  private readonly headOfStream
  private readonly insertEvent
  private readonly selectStream
  private readonly selectAll
  private readonly selectHead
  /** one append, run inside the group's transaction as a savepoint */
  private readonly appendInSavepoint: (append: PendingAppend) => AppendResult

  constructor(
    private readonly db: SqliteDatabase,
    /** how often a live subscription looks for events written by another process */
    private readonly pollIntervalMs = 1000,
  ) {
    db.exec(schema)
    this.headOfStream = db
      .prepare<[string], { revision: number }>('SELECT revision FROM events WHERE stream = ? ORDER BY revision DESC LIMIT 1')
    this.insertEvent = db.prepare<[string, string, number, string, string, string]>(
      'INSERT INTO events (id, stream, revision, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)',
    )
    this.selectStream = db.prepare<[string, number], EventRow>(
      'SELECT position, id, stream, revision, type, data, metadata FROM events WHERE stream = ? AND revision >= ? ORDER BY revision',
    )
    this.selectAll = db.prepare<[number, number], EventRow>(
      'SELECT position, id, stream, revision, type, data, metadata FROM events WHERE position > ? ORDER BY position LIMIT ?',
    )
    this.selectHead = db.prepare<[], { position: number | null }>('SELECT max(position) AS position FROM events')
    this.appendInSavepoint = db.transaction((append: PendingAppend) => this.appendWithinTransaction(append))
  }

  appendToStream(
    streamName: string,
    events: readonly EventToAppend[],
    options: { readonly expectedRevision: ExpectedRevision },
  ): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new Error('event store is closed'))
    return new Promise((resolve, reject) => {
      this.pending.push({ streamName, events, expectedRevision: options.expectedRevision, resolve, reject })
      if (!this.flushScheduled) {
        this.flushScheduled = true
        setImmediate(() => this.flush())
      }
    })
  }

  /** Writes every queued append in one transaction; settles each promise after commit. */
  private flush(): void {
    this.flushScheduled = false
    const batch = this.pending
    this.pending = []
    if (batch.length === 0) return
    const outcomes: AppendOutcome[] = []
    try {
      this.db.transaction(() => {
        for (const append of batch) {
          // Each append in a savepoint of its own: one that fails (data that is not JSON, a
          // constraint) is rolled back alone and fails alone; the others still commit.
          try {
            outcomes.push(this.appendInSavepoint(append))
          } catch (error) {
            outcomes.push({ failed: error })
          }
        }
      })()
    } catch (error) {
      for (const append of batch) append.reject(error)
      return
    }
    batch.forEach((append, i) => {
      const outcome = outcomes[i]!
      if ('failed' in outcome) append.reject(outcome.failed)
      else append.resolve(outcome)
    })
    for (const notify of this.listeners) notify()
  }

  /** Checks the expected revision and writes the events; throws (rolling back its savepoint) on failure. */
  private appendWithinTransaction(append: PendingAppend): AppendResult {
    const current = this.headOfStream.get(append.streamName)?.revision ?? null
    const expected = append.expectedRevision
    const holds =
      expected === 'any' ||
      (expected === 'no_stream' && current === null) ||
      (expected === 'stream_exists' && current !== null) ||
      (typeof expected === 'number' && current === expected)
    if (!holds) throw new ConcurrencyError(append.streamName, describe(expected), describe(current))

    let revision = current ?? -1
    let position = -1
    for (const event of append.events) {
      revision += 1
      const info = this.insertEvent.run(
        event.id,
        append.streamName,
        revision,
        event.type,
        JSON.stringify(event.data),
        JSON.stringify(event.metadata),
      )
      position = Number(info.lastInsertRowid)
    }
    if (position === -1) {
      // An empty append changes nothing; report where the stream and the log stand.
      position = this.selectHead.get()?.position ?? -1
    }
    return { nextRevision: revision, position }
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

  subscribeToAll(options: SubscribeOptions, handler: (events: readonly RecordedEvent[]) => Promise<void>): Subscription {
    const maxBatch = options.maxBatch ?? 1000
    let position = options.fromPosition
    let stopped = false
    let wake: (() => void) | undefined
    const notify = (): void => wake?.()
    this.listeners.add(notify)

    const run = async (): Promise<void> => {
      while (!stopped) {
        const events = this.readAllNow(position, maxBatch)
        if (events.length === 0) {
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
        await handler(events)
        position = events[events.length - 1]!.position
      }
    }
    const running = run().catch((error: unknown) => {
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
    if (this.pending.length > 0) this.flush()
    this.closed = true
  }
}
