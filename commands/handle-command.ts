/**
 * The one path every write takes: load the aggregate's stream, fold it into state,
 * decide, append with the revision that was read. A concurrent writer makes the append
 * fail; then the whole cycle runs again on the fresher stream, so `decide` always sees
 * the state it changes. A caller that named the revision it saw (HTTP If-Match) gets a
 * PreconditionFailedError instead of a retry.
 */
import { fold, type Command, type Decider, type DomainEvent } from '../domain/decider.ts'
import { ConcurrencyError, PreconditionFailedError } from '../domain/errors.ts'
import type { EventMetadata, EventStore } from './event-store.ts'

export interface CommandContext {
  readonly eventStore: EventStore
  readonly now: () => Date
  readonly newId: () => string
  /** everything but the time, which is taken from `now` when the events are decided */
  readonly metadata: Omit<EventMetadata, 'time'>
  /** the stream revision the caller last saw, if it insists on it */
  readonly ifMatchRevision?: number
  readonly maxAttempts?: number
}

export interface CommandResult<State, Event extends DomainEvent> {
  readonly state: State
  readonly newEvents: readonly Event[]
  /** revision of the stream after the command; -1 when the stream is still empty */
  readonly revision: number
  /** global position of the last new event; null when nothing was appended */
  readonly position: number | null
}

/**
 * `known`: the stream's state at a revision the caller already folded (a long-lived
 * stream such as a rule's firing history); only the events after it are read.
 */
export async function handleCommand<State, Cmd extends Command, Event extends DomainEvent>(
  decider: Decider<State, Cmd, Event>,
  streamName: string,
  command: Cmd,
  context: CommandContext,
  known?: { readonly state: State; readonly revision: number },
): Promise<CommandResult<State, Event>> {
  const maxAttempts = context.maxAttempts ?? 5
  for (let attempt = 1; ; attempt++) {
    const from = known ? known.revision + 1 : 0
    const history = await context.eventStore.readStream(streamName, { fromRevision: from })
    const revision = from + history.length - 1
    if (context.ifMatchRevision !== undefined && context.ifMatchRevision !== revision) {
      throw new PreconditionFailedError(
        `${streamName} is at revision ${revision}, not ${context.ifMatchRevision}: read it again and retry`,
      )
    }
    const state = known ? (history as unknown as Event[]).reduce(decider.evolve, known.state) : fold(decider, history as unknown as Event[])
    const now = context.now()
    const newEvents = decider.decide(command, state, now)
    if (newEvents.length === 0) return { state, newEvents, revision, position: null }

    const metadata: EventMetadata = { ...context.metadata, time: now.toISOString() }
    try {
      const appended = await context.eventStore.appendToStream(
        streamName,
        newEvents.map((event) => ({ id: context.newId(), type: event.type, data: event.data, metadata })),
        { expectedRevision: revision === -1 ? 'no_stream' : revision },
      )
      return {
        state: newEvents.reduce(decider.evolve, state),
        newEvents,
        revision: appended.nextRevision,
        position: appended.position,
      }
    } catch (error) {
      const retry = error instanceof ConcurrencyError && context.ifMatchRevision === undefined && attempt < maxAttempts
      if (!retry) {
        if (error instanceof ConcurrencyError && context.ifMatchRevision !== undefined) {
          throw new PreconditionFailedError(`${streamName} changed while this request ran: read it again and retry`)
        }
        throw error
      }
    }
  }
}
