/**
 * A projection declares the events it reads and folds each into one document of its
 * collection. `evolve` is pure; the runner does the loading, batching and checkpointing.
 * Bump `version` whenever `evolve` or the document shape changes: the runner then
 * rebuilds that read model from the start of the log.
 */
import type { DomainEvent } from '../domain/decider.ts'
import type { RecordedEvent } from '../domain/ports/event-store.ts'
import type { Document } from '../domain/ports/read-store.ts'

export interface Projection<E extends DomainEvent = DomainEvent, D extends Document = Document> {
  /** also the checkpoint's name */
  readonly name: string
  readonly version: number
  readonly collection: string
  /** fields the read model's queries filter on */
  readonly indexes: readonly string[]
  readonly canHandle: readonly E['type'][]
  /** which document an event changes */
  documentId(event: RecordedEvent<E>): string
  /** the document after the event; null deletes it */
  evolve(document: D | null, event: RecordedEvent<E>): D | null
}

/** Typing helper: `canHandle` is checked against the event union, so a typo does not compile. */
export function projection<E extends DomainEvent, D extends Document>(definition: Projection<E, D>): Projection<E, D> {
  return definition
}

/** What the runner holds: projections over different event unions, seen through one shape. */
export type AnyProjection = Projection<DomainEvent, Document>

export const asAnyProjection = <E extends DomainEvent, D extends Document>(p: Projection<E, D>): AnyProjection =>
  p as unknown as AnyProjection
