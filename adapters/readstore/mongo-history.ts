/**
 * The reading history on MongoDB, beside the read models: one document per point in
 * `rh_points`, `_id` the point's identity `{ p: position, i: index }` (so a point written
 * again is the same document), with an index on (thing, channel, time, _id) for range
 * reads. MongoDB compares embedded documents pair by pair in their order, so `_id` sorts
 * and compares as (position, index): the index serves the order (time, position, index)
 * and the next page's bound alike. The `_id` is therefore always built as `{ p, i }`, in
 * that order (`pointId`). Documents of readingHistoryVersion 1 (a number `_id`) are
 * dropped by the reset that the version change causes.
 *
 * Points are written before the checkpoint: a batch delivered again after a crash rewrites
 * the same documents, which changes nothing.
 */
import type { Collection, Db, Filter } from 'mongodb'
import type { Checkpoint } from '../../domain/ports/read-store.ts'
import {
  aggregateByScanning,
  readingHistoryName,
  type AggregateFunction,
  type BucketValue,
  type SeriesRange,
  type HistoryPoint,
  type PointQuery,
  type ReadingHistoryStore,
  type ReadingValue,
  type StoredPoint,
} from '../../projections/reading-history.ts'

interface PointId {
  /** the log position of the event */
  p: number
  /** the reading's index among the event's readings */
  i: number
}

/** Always `p` then `i`: an embedded document matches and compares field by field, in order. */
const pointId = (position: number, index: number): PointId => ({ p: position, i: index })

interface StoredHistoryPoint {
  _id: PointId
  thing_id: string
  channel: string
  ts: number
  value: ReadingValue
}

interface StoredCheckpoint {
  _id: string
  position: number | null
  version: number
}

export class MongoReadingHistory implements ReadingHistoryStore {
  private readonly pointDocuments: Collection<StoredHistoryPoint>
  private readonly checkpoints: Collection<StoredCheckpoint>

  constructor(db: Db) {
    this.pointDocuments = db.collection<StoredHistoryPoint>('rh_points')
    this.checkpoints = db.collection<StoredCheckpoint>('checkpoints')
  }

  async prepare(): Promise<void> {
    await this.pointDocuments.createIndex({ thing_id: 1, channel: 1, ts: 1, _id: 1 }, { name: 'by_series_time' })
  }

  async loadCheckpoint(): Promise<Checkpoint | undefined> {
    const stored = await this.checkpoints.findOne({ _id: readingHistoryName })
    return stored ? { position: stored.position ?? null, version: stored.version } : undefined
  }

  async commit(points: readonly HistoryPoint[], checkpoint: Checkpoint): Promise<void> {
    if (points.length > 0) {
      await this.pointDocuments.bulkWrite(
        points.map((p) => {
          const fields = { thing_id: p.thingId, channel: p.channel, ts: p.ts, value: p.value }
          // a correction overwrites the point (by the corrected reading's position and index); a reading seen again does not
          return { updateOne: { filter: { _id: pointId(p.position, p.index) }, update: p.replaces ? { $set: fields } : { $setOnInsert: fields }, upsert: true } }
        }),
        { ordered: false },
      )
    }
    await this.checkpoints.updateOne(
      { _id: readingHistoryName },
      { $set: { position: checkpoint.position, version: checkpoint.version } },
      { upsert: true },
    )
  }

  async reset(): Promise<void> {
    await this.pointDocuments.deleteMany({})
    await this.checkpoints.deleteOne({ _id: readingHistoryName })
  }

  private filterOf(query: Omit<PointQuery, 'limit'>): Filter<StoredHistoryPoint> {
    const filter: Filter<StoredHistoryPoint> = { thing_id: query.thingId, channel: query.channel, ts: { $gte: query.from, $lt: query.to } }
    if (query.after) {
      const { ts, position, index } = query.after
      filter.$or = [{ ts: { $gt: ts } }, { ts, _id: { $gt: pointId(position, index) } }]
    }
    return filter
  }

  async count(query: SeriesRange): Promise<number> {
    return this.pointDocuments.countDocuments(this.filterOf(query))
  }

  async points(query: PointQuery): Promise<StoredPoint[]> {
    if (query.limit <= 0) return []
    const rows = await this.pointDocuments
      .find(this.filterOf(query), { sort: { ts: 1, _id: 1 }, limit: query.limit, projection: { ts: 1, value: 1 } })
      .toArray()
    return rows.map((row) => ({ ts: row.ts, position: row._id.p, index: row._id.i, value: row.value }))
  }

  /** The points are read in pages and folded here (an aggregation pipeline per bucket is left for when it is needed). */
  aggregate(range: SeriesRange, boundaries: readonly number[], fn: AggregateFunction): Promise<BucketValue[]> {
    return aggregateByScanning(this, range, boundaries, fn)
  }
}
