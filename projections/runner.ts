/**
 * Keeps every read model in step with the event log: catches up from each projection's
 * checkpoint, then follows the log live. Each batch of events becomes one ReadStore
 * commit holding the changed documents and every projection's new checkpoint, so a
 * restart resumes exactly where the last commit ended, and replaying an event that a
 * read model already holds is skipped by position. A projection whose version changed
 * is rebuilt from the start.
 */
import type { Logger } from '../domain/ports/logger.ts'
import type { EventStore, RecordedEvent } from '../domain/ports/event-store.ts'
import { checkpointDistance, LogFollower, type FollowerRegistry } from './log-follower.ts'
import { eventUpcasters } from '../domain/fold-events.ts'
import type { AnyProjection } from './projection.ts'
import type { Checkpoint, Document, ReadStore } from '../domain/ports/read-store.ts'
import { PositionWaiters } from './position-waiters.ts'

export interface ProjectionRunnerOptions {
  readonly eventStore: EventStore
  readonly readStore: ReadStore
  readonly projections: readonly AnyProjection[]
  readonly logger: Logger
  readonly batchSize?: number
  /** during a rebuild, how many events are folded in memory between two writes */
  readonly rebuildFlushEvents?: number
  /** where its follower is reported (readiness, metrics) */
  readonly followers?: FollowerRegistry
}

/** collection → document id → the document as folded so far */
type PendingDocuments = Map<string, Map<string, { collection: string; id: string; doc: Document | null; position: number }>>

export type RunnerStatus = 'stopped' | 'running' | 'failed'

export class ProjectionRunner {
  private readonly checkpoints = new Map<string, Checkpoint>()
  private readonly waiters = new PositionWaiters()
  private reached: number | null = null
  private failure: unknown
  readonly follower: LogFollower

  /** event type → the projections that handle it */
  private readonly handlers = new Map<string, AnyProjection[]>()

  constructor(private readonly options: ProjectionRunnerOptions) {
    const names = new Set<string>()
    for (const p of options.projections) {
      if (names.has(p.name)) throw new Error(`Two projections are named "${p.name}"`)
      names.add(p.name)
      for (const type of p.canHandle) this.handlers.set(type, [...(this.handlers.get(type) ?? []), p])
    }
    // The projections' checkpoints are stored with their documents (commit), not by the follower.
    this.follower = new LogFollower({
      name: 'projections',
      eventStore: options.eventStore,
      logger: options.logger,
      eventTypes: [...this.handlers.keys()],
      maxBatch: options.batchSize ?? 1000,
      startAt: 'beginning',
      checkpoint: {
        load: async () => {
          await this.prepare()
          return this.lowestCheckpoint()
        },
      },
      handle: (events, through) => this.apply(events, through),
      onFailure: (error) => {
        this.failure = error
      },
    })
    options.followers?.add(this.follower)
  }

  get status(): RunnerStatus {
    return this.follower.status().state
  }

  /** Position of the last event every projection has applied. */
  get position(): number | null {
    return this.reached
  }

  get error(): unknown {
    return this.failure
  }

  /** Prepares collections, rebuilds projections whose version changed, and starts following the log. */
  start(): Promise<void> {
    return this.follower.start()
  }

  async stop(): Promise<void> {
    await this.follower.stop()
    this.waiters.cancelAll()
  }

  /**
   * Drops every read model and applies the whole log again (the operator's `rebuild`).
   * Must not run while the runner is following the log. Since every read model starts
   * empty, documents are folded in memory and written once per `rebuildFlushEvents`
   * events instead of once per event.
   */
  async rebuild(onProgress?: (applied: number, position: number | null) => void): Promise<number> {
    if (this.follower.isStarted) throw new Error('Stop the runner before rebuilding')
    const { readStore, eventStore, projections } = this.options
    for (const p of projections) {
      await readStore.ensureCollection({ name: p.collection, indexes: p.indexes })
      await readStore.reset(p.collection, p.name)
    }
    await this.prepare()
    const flushEvery = this.options.rebuildFlushEvents ?? 50_000
    const documents: PendingDocuments = new Map()
    let applied = 0
    let unflushed = 0
    let from: number | null = null
    for (;;) {
      const events = await eventStore.readAll({ fromPosition: from, maxCount: this.options.batchSize ?? 500 })
      if (events.length > 0) {
        await this.fold(events, documents, { readStored: false })
        applied += events.length
        unflushed += events.length
        from = events[events.length - 1]!.position
      }
      if (from !== null && (unflushed >= flushEvery || (events.length === 0 && unflushed > 0))) {
        await this.commit(documents, from)
        documents.clear()
        unflushed = 0
      }
      if (events.length === 0) break
      onProgress?.(applied, from)
    }
    return applied
  }

  /**
   * Resolves true once every projection has applied the event at `position`, or false
   * after `timeoutMs` (the caller answers anyway; the read model will catch up).
   */
  waitFor(position: number, timeoutMs: number): Promise<boolean> {
    return this.waiters.wait(this.reached, position, timeoutMs)
  }

  private async prepare(): Promise<void> {
    const { readStore, logger } = this.options
    for (const p of this.options.projections) {
      await readStore.ensureCollection({ name: p.collection, indexes: p.indexes })
      let checkpoint = await readStore.loadCheckpoint(p.name)
      if (checkpoint && checkpoint.version !== p.version) {
        logger.info({ projection: p.name, from: checkpoint.version, to: p.version }, 'projection version changed: rebuilding')
        await readStore.reset(p.collection, p.name)
        checkpoint = undefined
      }
      this.checkpoints.set(p.name, checkpoint ?? { position: null, version: p.version })
    }
    this.reached = this.lowestCheckpoint()
  }

  private lowestCheckpoint(): number | null {
    let lowest: number | null | undefined
    for (const { position } of this.checkpoints.values()) {
      if (lowest === undefined || position === null || (lowest !== null && position < lowest)) lowest = position
    }
    return lowest ?? null
  }

  /** Applies one batch live: documents are loaded once, folded in memory, written once. */
  private async apply(events: readonly RecordedEvent[], through: number): Promise<void> {
    if (events.length === 0) {
      // Only events no projection reads: the checkpoints need not move on disk for them
      // (a restart skips them again), except now and then, to keep that rescan short.
      const stored = [...this.checkpoints.values()].reduce((low, c) => Math.min(low, c.position ?? -1), Infinity)
      if (through - stored < checkpointDistance) {
        this.reached = through
        this.waiters.release(this.reached)
        return
      }
    }
    const documents: PendingDocuments = new Map()
    await this.fold(events, documents, { readStored: true })
    await this.commit(documents, through)
  }

  /** Folds events into `documents`, skipping what a projection's checkpoint says it has. */
  private async fold(events: readonly RecordedEvent[], documents: PendingDocuments, options: { readStored: boolean }): Promise<void> {
    const { readStore } = this.options
    for (const stored of events) {
      const interested = this.handlers.get(stored.type)
      if (!interested) continue
      const event = eventUpcasters.upcast(stored)
      for (const p of interested) {
        const checkpoint = this.checkpoints.get(p.name)!
        if (checkpoint.position !== null && event.position <= checkpoint.position) continue
        const id = p.documentId(event)
        let byId = documents.get(p.collection)
        if (!byId) documents.set(p.collection, (byId = new Map()))
        let entry = byId.get(id)
        if (!entry) {
          const stored = options.readStored ? ((await readStore.collection(p.collection).get(id)) ?? null) : null
          entry = { collection: p.collection, id, doc: stored, position: event.position }
          byId.set(id, entry)
        }
        entry.doc = p.evolve(entry.doc, event)
        entry.position = event.position
      }
    }
  }

  /** Writes the documents and moves every projection's checkpoint to `last`, together. */
  private async commit(documents: PendingDocuments, last: number): Promise<void> {
    const checkpoints = new Map<string, Checkpoint>()
    for (const p of this.options.projections) {
      const current = this.checkpoints.get(p.name)!
      if (current.position === null || current.position < last) checkpoints.set(p.name, { position: last, version: p.version })
    }
    await this.options.readStore.commit([...documents.values()].flatMap((byId) => [...byId.values()]), checkpoints)
    for (const [name, checkpoint] of checkpoints) this.checkpoints.set(name, checkpoint)
    this.reached = last
    this.waiters.release(this.reached)
  }
}
