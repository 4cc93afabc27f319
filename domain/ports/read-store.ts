/**
 * The ReadStore port, shaped by MongoDB: named collections of JSON documents with an
 * `id`, looked up by id or by equality on declared fields. Projections write through
 * `commit`, which applies a batch of document changes together with the projections'
 * checkpoints. Each change carries the log position it reflects, so an adapter that
 * cannot make the batch atomic (MongoDB) can still apply it idempotently.
 */

export type Document = { readonly id: string } & Record<string, unknown>

export type Scalar = string | number | boolean | null

export interface FindOptions {
  readonly limit?: number
  readonly offset?: number
  /** a top-level field; ascending unless `descending` */
  readonly orderBy?: string
  readonly descending?: boolean
}

export interface ReadCollection<D extends Document> {
  get(id: string): Promise<D | undefined>
  /** equality on top-level fields; a filter value that is an array means "any of" */
  find(filter: Readonly<Record<string, Scalar | readonly Scalar[]>>, options?: FindOptions): Promise<D[]>
  count(filter: Readonly<Record<string, Scalar | readonly Scalar[]>>): Promise<number>
}

export interface CollectionSpec {
  readonly name: string
  /** top-level fields that `find` filters on */
  readonly indexes: readonly string[]
}

export interface DocumentChange {
  readonly collection: string
  readonly id: string
  /** the new document, or null to delete it */
  readonly doc: Document | null
  readonly position: number
}

export interface Checkpoint {
  readonly position: number | null
  /** the projection version the checkpoint was written by */
  readonly version: number
}

export interface CheckpointStore {
  loadCheckpoint(name: string): Promise<Checkpoint | undefined>
}

export interface ReadStore extends CheckpointStore {
  ensureCollection(spec: CollectionSpec): Promise<void>
  collection<D extends Document>(name: string): ReadCollection<D>
  /** Applies every change and stores every checkpoint; all or nothing where the engine allows. */
  commit(changes: readonly DocumentChange[], checkpoints: ReadonlyMap<string, Checkpoint>): Promise<void>
  /** Drops a collection's documents and the named checkpoint (for a rebuild). */
  reset(collection: string, checkpointName: string): Promise<void>
  /** The readings as points in time (too many for documents), on the same engine. */
  readingHistory(): ReadingHistoryStore
  ping(): Promise<void>
  close(): Promise<void>
}

// The reading history: the points behind GET /v1.1/things/{id}/data/{channel} ------------

export type ReadingValue = number | readonly number[] | string

export const aggregateFunctions = ['avg', 'min', 'max', 'sum', 'count', 'first', 'last'] as const
export type AggregateFunction = (typeof aggregateFunctions)[number]

/** A multi-value reading's aggregate has one entry per component; null where a component had no number. */
export type BucketValue = ReadingValue | readonly (number | null)[] | null

export interface HistoryPoint {
  readonly thingId: string
  readonly channel: string
  /** ms since the epoch */
  readonly ts: number
  /** the log position of the event that recorded it */
  readonly position: number
  /**
   * the reading's index among its event's readings (0 for an event of one reading):
   * with `position`, unique, so a point written again is the same point
   */
  readonly index: number
  readonly value: ReadingValue
  /**
   * A correction (SensorReadingCorrected): the point at (`position`, `index`) takes this value, moved
   * from this channel (its channel until now) when the correction changed it.
   */
  readonly replaces?: { readonly channel: string }
}

export interface StoredPoint {
  readonly ts: number
  readonly position: number
  readonly index: number
  readonly value: ReadingValue
}

/** One channel of a thing, in [from, to). */
export interface SeriesRange {
  readonly thingId: string
  readonly channel: string
  /** inclusive, ms */
  readonly from: number
  /** exclusive, ms */
  readonly to: number
}

export interface PointQuery extends SeriesRange {
  /** only points after this one (time, then position, then index): the next page */
  readonly after?: { readonly ts: number; readonly position: number; readonly index: number }
  readonly limit: number
}

/** The port: one adapter per read-model engine (adapters/readstore/*-history.ts). */
export interface ReadingHistoryStore {
  /** creates what the store needs; idempotent */
  prepare(): Promise<void>
  loadCheckpoint(): Promise<Checkpoint | undefined>
  /**
   * Adds the points (one already there is left alone; a point that `replaces` one overwrites
   * it) and stores the checkpoint; together where the engine allows.
   */
  commit(points: readonly HistoryPoint[], checkpoint: Checkpoint): Promise<void>
  /** Drops every point and the checkpoint (for a rebuild). */
  reset(): Promise<void>
  /** points in [from, to) */
  count(range: SeriesRange): Promise<number>
  /** points in [from, to), by time, then position, then index */
  points(query: PointQuery): Promise<StoredPoint[]>
  /**
   * `fn` of the points of each bucket [b[i], b[i + 1]) within [from, to), as
   * aggregateByScanning computes it (which an engine may simply call).
   */
  aggregate(range: SeriesRange, boundaries: readonly number[], fn: AggregateFunction): Promise<BucketValue[]>
}

