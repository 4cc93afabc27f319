/**
 * Reads an aggregate's current state without deciding anything: for checks that must be
 * strongly consistent (a client's secret, a user's password, a code's binding) and
 * cannot wait for a read model.
 */
import { fold, type Command, type Decider, type DomainEvent } from '../domain/decider.ts'
import type { EventStore } from './event-store.ts'

export async function loadState<State, Event extends DomainEvent>(
  decider: Decider<State, Command, Event>,
  streamName: string,
  eventStore: EventStore,
): Promise<State> {
  const history = await eventStore.readStream(streamName)
  return fold(decider, history as unknown as Event[])
}
