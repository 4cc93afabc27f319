/**
 * Stored events back into state: the one place a RecordedEvent becomes a domain event.
 * Events are never rewritten; when an event type's data changes shape, an upcaster turns
 * the old shape into the current one as it is read, so deciders and projections only ever
 * see the current shape.
 */
import type { Decider, DomainEvent } from './decider.ts'
import type { RecordedEvent } from './ports/event-store.ts'

/** Turns one old shape of an event type's data into the current one. */
export interface Upcaster {
  readonly type: string
  /** whether `data` is the old shape this upcaster knows (and not the current one) */
  isOld(data: unknown): boolean
  upcast(data: unknown): unknown
}

export class UpcasterRegistry {
  private readonly byType = new Map<string, Upcaster[]>()

  /** Upcasters of one type run in the order they were registered: oldest shape first. */
  register(upcaster: Upcaster): this {
    this.byType.set(upcaster.type, [...(this.byType.get(upcaster.type) ?? []), upcaster])
    return this
  }

  /** The event with its data in the current shape: the same object when no upcaster applies. */
  upcast(event: RecordedEvent): RecordedEvent {
    const upcasters = this.byType.get(event.type)
    if (upcasters === undefined) return event
    let data: unknown = event.data
    for (const upcaster of upcasters) if (upcaster.isOld(data)) data = upcaster.upcast(data)
    if (data === event.data) return event
    const { id, streamName, revision, position, type, metadata } = event
    return { id, streamName, revision, position, type, metadata, data } as RecordedEvent
  }
}

/** The upcasters every fold and the projection runner apply. None yet: no event type has changed shape. */
export const eventUpcasters = new UpcasterRegistry()

export interface FoldOptions<State> {
  /** the state the events continue from (a known revision's); the decider's initial state by default */
  readonly from?: State
  readonly upcasters?: UpcasterRegistry
}

/** Folds stored events, upcast to their current shape, into the decider's state. */
export function foldRecorded<State, Event extends DomainEvent>(
  decider: Pick<Decider<State, never, Event>, 'initialState' | 'evolve'>,
  events: readonly RecordedEvent[],
  options: FoldOptions<State> = {},
): State {
  const upcasters = options.upcasters ?? eventUpcasters
  let state = options.from ?? decider.initialState
  // The event store holds only events the deciders wrote: their types are the decider's.
  for (const event of events) state = decider.evolve(state, upcasters.upcast(event) as unknown as Event)
  return state
}
