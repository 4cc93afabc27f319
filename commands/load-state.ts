/**
 * Reads an aggregate's current state without deciding anything: for checks that must be
 * strongly consistent (a client's secret, a user's password, a code's binding) and
 * cannot wait for a read model.
 */
import type { Command, Decider, DomainEvent } from '../domain/decider.ts'
import { foldRecorded } from '../domain/fold-events.ts'
import type { EventStore } from '../domain/ports/event-store.ts'

export async function loadState<State, Event extends DomainEvent>(
  decider: Decider<State, Command, Event>,
  streamName: string,
  eventStore: EventStore,
): Promise<State> {
  return foldRecorded(decider, await eventStore.readStream(streamName))
}
