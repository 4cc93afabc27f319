/** The reading history's port: the points behind GET /v1.1/things/{id}/data/{channel}, one adapter per read-model engine. */
import type { Checkpoint } from './read-store.ts'

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
  /** the event's log position: unique, so a point written again is the same point */
  readonly position: number
  readonly value: ReadingValue
  /**
   * A correction (SensorReadingCorrected): the point at `position` takes this value, moved
   * from this channel (its channel until now) when the correction changed it.
   */
  readonly replaces?: { readonly channel: string }
}

export interface StoredPoint {
  readonly ts: number
  readonly position: number
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
  /** only points after this one (time, then position): the next page */
  readonly after?: { readonly ts: number; readonly position: number }
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
  /** points in [from, to), by time then position */
  points(query: PointQuery): Promise<StoredPoint[]>
  /**
   * `fn` of the points of each bucket [b[i], b[i + 1]) within [from, to), as
   * aggregateByScanning computes it (which an engine may simply call).
   */
  aggregate(range: SeriesRange, boundaries: readonly number[], fn: AggregateFunction): Promise<BucketValue[]>
}

