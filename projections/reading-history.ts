/**
 * Read model `readingHistory`: every recorded reading as a point of its thing's channel,
 * indexed by (thing, channel, time), for `GET /v1.1/things/{id}/data/{channel}`. A year of
 * minute readings is half a million points per channel: too many for documents of the
 * ReadStore, so points live in a store of their own (ReadingHistoryStore, same engine as
 * the read models), fed from the event log by its own projector with its own checkpoint.
 * Buckets and aggregates are computed here, from the points in time order.
 */
import type { EventStore, RecordedEvent } from '../domain/ports/event-store.ts'
import { checkpointDistance, LogFollower, type FollowerRegistry } from './log-follower.ts'
import { recordedReadingsOf, type SensorReadingCorrected } from '../domain/telemetry/telemetry.ts'
import { timesOfIsoText } from '../domain/time-text.ts'
import { bucketBoundaries, type Interval } from './calendar-buckets.ts'
import type { Logger } from '../domain/ports/logger.ts'
import { PositionWaiters } from './position-waiters.ts'
import type { AggregateFunction, BucketValue, HistoryPoint, ReadingHistoryStore, ReadingValue, SeriesRange, StoredPoint } from '../domain/ports/read-store.ts'

export { aggregateFunctions } from '../domain/ports/read-store.ts'
export type { AggregateFunction, BucketValue, HistoryPoint, PointQuery, ReadingHistoryStore, ReadingValue, SeriesRange, StoredPoint } from '../domain/ports/read-store.ts'

export const readingHistoryName = 'readingHistory'
/** Bump when the points change shape: the projector then rebuilds them. (2: points have an index within their event) */
export const readingHistoryVersion = 2

const timeOfReading = timesOfIsoText()

/** Adds the points of an event that recorded readings (either shape), in its order, to `points`. */
function addPointsOf(event: RecordedEvent, points: HistoryPoint[]): void {
  const { thingId } = event.data as { thingId: string }
  const readings = recordedReadingsOf(event)
  for (let index = 0; index < readings.length; index++) {
    const reading = readings[index]!
    points.push({ thingId, channel: reading.channel, ts: timeOfReading(reading.at), position: event.position, index, value: reading.value })
  }
}

/** A correction: the corrected reading's point (same time, position and index) with its value as it is now. */
export function correctedPointOf(event: RecordedEvent<SensorReadingCorrected>): HistoryPoint {
  const d = event.data
  return {
    thingId: d.thingId,
    channel: d.channel,
    ts: Date.parse(d.at),
    position: d.corrects.position,
    index: d.corrects.index ?? 0,
    value: d.value,
    replaces: { channel: d.previous.channel },
  }
}

/** Follows the log and adds each recorded reading to the history (and applies each correction), one commit per batch. */
export class ReadingHistoryProjector {
  private reached: number | null = null
  /** the checkpoint on disk */
  private stored: number | null = null
  private readonly waiters = new PositionWaiters()
  readonly follower: LogFollower

  constructor(
    private readonly options: {
      readonly eventStore: EventStore
      readonly store: ReadingHistoryStore
      readonly logger: Logger
      readonly batchSize?: number
      readonly followers?: FollowerRegistry
    },
  ) {
    // The checkpoint is stored with the points (commit), not by the follower.
    this.follower = new LogFollower({
      name: readingHistoryName,
      eventStore: options.eventStore,
      logger: options.logger,
      eventTypes: ['SensorReadingsRecorded', 'SensorReadingRecorded', 'SensorReadingCorrected'],
      maxBatch: options.batchSize ?? 1000,
      startAt: 'beginning',
      checkpoint: { load: () => this.prepare() },
      handle: async (events, through) => {
        await this.apply(events, through)
        this.waiters.release(this.reached)
      },
    })
    options.followers?.add(this.follower)
  }

  get position(): number | null {
    return this.reached
  }

  start(): Promise<void> {
    return this.follower.start()
  }

  async stop(): Promise<void> {
    await this.follower.stop()
    this.waiters.cancelAll()
  }

  /** Creates the store, rebuilds it when its version changed; the position to resume after. */
  private async prepare(): Promise<number | null> {
    const { store, logger } = this.options
    await store.prepare()
    let checkpoint = await store.loadCheckpoint()
    if (checkpoint && checkpoint.version !== readingHistoryVersion) {
      logger.info({ projection: readingHistoryName, from: checkpoint.version, to: readingHistoryVersion }, 'projection version changed: rebuilding')
      await store.reset()
      checkpoint = undefined
    }
    this.reached = checkpoint?.position ?? null
    this.stored = this.reached
    return this.reached
  }

  /** Drops the history and adds every reading of the log again (the runner must be stopped). */
  async rebuild(onProgress?: (applied: number) => void): Promise<number> {
    if (this.follower.isStarted) throw new Error('Stop the reading history before rebuilding it')
    const { store, eventStore } = this.options
    await store.prepare()
    await store.reset()
    this.reached = null
    let applied = 0
    for (;;) {
      const events = await eventStore.readAll({ fromPosition: this.reached, maxCount: this.options.batchSize ?? 5000 })
      if (events.length === 0) return applied
      await this.apply(events, events[events.length - 1]!.position)
      applied += events.length
      onProgress?.(applied)
    }
  }

  /** Resolves true once the history holds every event up to `position`, false after `timeoutMs`. */
  waitFor(position: number, timeoutMs: number): Promise<boolean> {
    return this.waiters.wait(this.reached, position, timeoutMs)
  }

  private async apply(events: readonly RecordedEvent[], through: number): Promise<void> {
    const points: HistoryPoint[] = []
    for (const event of events) {
      if (event.type === 'SensorReadingCorrected') points.push(correctedPointOf(event as RecordedEvent<SensorReadingCorrected>))
      else addPointsOf(event, points)
    }
    // Batches without readings move the checkpoint on disk only now and then (a restart skips them again).
    if (points.length > 0 || through - (this.stored ?? -1) >= checkpointDistance) {
      await this.options.store.commit(points, { position: through, version: readingHistoryVersion })
      this.stored = through
    }
    this.reached = through
  }
}

// Queries ----------------------------------------------------------------------------


export interface Bucket {
  /** start of the bucket, ms */
  readonly ts: number
  /** null for a bucket without readings (count: 0), or without numbers for avg/min/max/sum */
  readonly value: BucketValue
}

/** Accumulates one bucket: per component for multi-value readings; text counts but has no numbers. */
class BucketAccumulator {
  count = 0
  first: ReadingValue | null = null
  last: ReadingValue | null = null
  private multi = false
  private readonly sums: number[] = []
  private readonly ns: number[] = []
  private readonly mins: number[] = []
  private readonly maxs: number[] = []

  add(value: ReadingValue): void {
    this.count += 1
    if (this.first === null) this.first = value
    this.last = value
    if (typeof value === 'string') return
    if (typeof value === 'number') {
      this.addComponent(0, value)
      return
    }
    this.multi = true
    for (let i = 0; i < value.length; i++) this.addComponent(i, value[i]!)
  }

  private addComponent(i: number, v: number): void {
    if (!Number.isFinite(v)) return
    this.sums[i] = (this.sums[i] ?? 0) + v
    this.ns[i] = (this.ns[i] ?? 0) + 1
    this.mins[i] = Math.min(this.mins[i] ?? Infinity, v)
    this.maxs[i] = Math.max(this.maxs[i] ?? -Infinity, v)
  }

  result(fn: AggregateFunction): BucketValue {
    switch (fn) {
      case 'count':
        return this.count
      case 'first':
        return this.first
      case 'last':
        return this.last
      default: {
        if (this.ns.length === 0) return null
        const per = (i: number): number | null => {
          const n = this.ns[i] ?? 0
          if (n === 0) return null
          return fn === 'avg' ? this.sums[i]! / n : fn === 'sum' ? this.sums[i]! : fn === 'min' ? this.mins[i]! : this.maxs[i]!
        }
        return this.multi ? Array.from({ length: this.ns.length }, (_, i) => per(i)) : per(0)
      }
    }
  }
}

/** Folds points (in time order) into the buckets between `boundaries`; every bucket is answered, empty ones too. */
export class BucketAggregation {
  private readonly accumulators: BucketAccumulator[]
  private index = 0

  constructor(
    private readonly boundaries: readonly number[],
    private readonly fn: AggregateFunction,
  ) {
    this.accumulators = Array.from({ length: boundaries.length - 1 }, () => new BucketAccumulator())
  }

  add(points: readonly StoredPoint[]): void {
    for (const point of points) {
      while (this.index < this.accumulators.length - 1 && point.ts >= this.boundaries[this.index + 1]!) this.index++
      if (point.ts >= this.boundaries[this.index]! && point.ts < this.boundaries[this.index + 1]!) this.accumulators[this.index]!.add(point.value)
    }
  }

  buckets(): Bucket[] {
    return this.accumulators.map((accumulator, i) => ({ ts: this.boundaries[i]!, value: accumulator.result(this.fn) }))
  }
}

/** The points of [from, to) in `boundaries`' buckets, read once in time order: what every engine can do. */
export async function aggregateByScanning(
  store: Pick<ReadingHistoryStore, 'points'>,
  range: SeriesRange,
  boundaries: readonly number[],
  fn: AggregateFunction,
  pageSize = 50_000,
): Promise<BucketValue[]> {
  const aggregation = new BucketAggregation(boundaries, fn)
  let after: StoredPoint | undefined
  for (;;) {
    const page = await store.points({ ...range, limit: pageSize, ...(after ? { after: { ts: after.ts, position: after.position, index: after.index } } : {}) })
    aggregation.add(page)
    if (page.length < pageSize) break
    after = page[page.length - 1]
  }
  return aggregation.buckets().map((b) => b.value)
}

export interface HistoryRequest extends SeriesRange {
  readonly bucketing?: { readonly interval: Interval; readonly fn: AggregateFunction; readonly timeZone: string }
}

/** Raw points (at most `limit`), or one value per calendar bucket that meets [from, to). */
export async function historyOf(store: ReadingHistoryStore, request: HistoryRequest, limit = 50_000): Promise<Bucket[]> {
  const range: SeriesRange = { thingId: request.thingId, channel: request.channel, from: request.from, to: request.to }
  if (!request.bucketing) {
    const points = await store.points({ ...range, limit })
    return points.map((p) => ({ ts: p.ts, value: p.value }))
  }
  const { interval, fn, timeZone } = request.bucketing
  const boundaries = bucketBoundaries(request.from, request.to, interval, timeZone)
  const values = await store.aggregate(range, boundaries, fn)
  return values.map((value, i) => ({ ts: boundaries[i]!, value }))
}
