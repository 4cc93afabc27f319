/**
 * The ReadStore port, shaped by MongoDB: named collections of JSON documents with an
 * `id`, looked up by id or by equality on declared fields. Projections write through
 * `commit`, which applies a batch of document changes together with the projections'
 * checkpoints. Each change carries the log position it reflects, so an adapter that
 * cannot make the batch atomic (MongoDB) can still apply it idempotently.
 */
import type { ReadingHistoryStore } from './reading-history-store.ts'

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
