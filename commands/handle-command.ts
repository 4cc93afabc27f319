/**
 * The one path every write takes: load the aggregate's stream, fold it into state,
 * decide, append with the revision that was read. A concurrent writer makes the append
 * fail; then the whole cycle runs again on the fresher stream, so `decide` always sees
 * the state it changes. A caller that named the revision it saw (HTTP If-Match) gets a
 * PreconditionFailedError instead of a retry.
 */
import type { Command, Decider, DomainEvent } from '../domain/decider.ts'
import { ConcurrencyError, PreconditionFailedError } from '../domain/errors.ts'
import type { EventMetadata, EventStore, EventToAppend } from '../domain/ports/event-store.ts'
import { foldRecorded } from '../domain/fold-events.ts'

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
    const state = foldRecorded(decider, history, known ? { from: known.state } : {})
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

/** One command of a batch, with what its events carry. */
export interface CommandInBatch<Cmd extends Command> {
  readonly command: Cmd
  /** the events' metadata, their time included: the moment the command is decided at */
  readonly metadata: EventMetadata
  readonly at: Date
}

export interface StreamCommands<State, Cmd extends Command> {
  readonly streamName: string
  /** decided in order, each against the state the ones before it left; their events are one append */
  readonly commands: readonly CommandInBatch<Cmd>[]
  /**
   * The stream's state at a revision the caller holds (a stream it writes itself): the first
   * attempt decides on it without reading, since the append's expected revision proves it
   * current; a conflict reads the stream after it and decides again.
   */
  readonly known?: { readonly state: State; readonly revision: number }
}

export interface BatchContext {
  readonly eventStore: EventStore
  readonly newId: () => string
  readonly maxAttempts?: number
}

/**
 * The batch form of handleCommand, for the telemetry processor and the rule engine: each
 * stream's commands are decided in order and appended as one append, every stream's append
 * issued in the same turn (one group commit on SQLite). A stream whose append conflicts is
 * read and decided again, up to maxAttempts. Resolves with each stream's result in the order
 * given; once every append has settled, rejects with the first failure.
 */
export async function handleCommandBatch<State, Cmd extends Command, Event extends DomainEvent>(
  decider: Decider<State, Cmd, Event>,
  streams: readonly StreamCommands<State, Cmd>[],
  context: BatchContext,
): Promise<CommandResult<State, Event>[]> {
  const maxAttempts = context.maxAttempts ?? 5
  const results: CommandResult<State, Event>[] = new Array<CommandResult<State, Event>>(streams.length)
  /** indexes of the streams still to write, and whether each must be read first */
  let pending = streams.map((stream, index) => ({ index, read: stream.known === undefined }))
  for (let attempt = 1; pending.length > 0; attempt++) {
    const loaded = await Promise.all(pending.map(({ index, read }) => loadForBatch(decider, streams[index]!, read, context.eventStore)))
    const appends = pending.map(({ index }, k) => {
      const stream = streams[index]!
      let { state } = loaded[k]!
      const { revision } = loaded[k]!
      const newEvents: Event[] = []
      const toAppend: EventToAppend[] = []
      for (const { command, metadata, at } of stream.commands) {
        for (const event of decider.decide(command, state, at)) {
          newEvents.push(event)
          toAppend.push({ id: context.newId(), type: event.type, data: event.data, metadata })
          state = decider.evolve(state, event)
        }
      }
      if (toAppend.length === 0) {
        results[index] = { state, newEvents, revision, position: null }
        return undefined
      }
      return context.eventStore
        .appendToStream(stream.streamName, toAppend, { expectedRevision: revision === -1 ? 'no_stream' : revision })
        .then((appended) => {
          results[index] = { state, newEvents, revision: appended.nextRevision, position: appended.position }
        })
    })
    const outcomes = await Promise.allSettled(appends)
    const failure = outcomes.find(
      (o): o is PromiseRejectedResult => o.status === 'rejected' && !(o.reason instanceof ConcurrencyError && attempt < maxAttempts),
    )
    if (failure) throw failure.reason
    pending = pending.filter((_, k) => outcomes[k]!.status === 'rejected').map(({ index }) => ({ index, read: true }))
  }
  return results
}

async function loadForBatch<State, Cmd extends Command, Event extends DomainEvent>(
  decider: Decider<State, Cmd, Event>,
  stream: StreamCommands<State, Cmd>,
  read: boolean,
  eventStore: EventStore,
): Promise<{ readonly state: State; readonly revision: number }> {
  const { known } = stream
  if (known && !read) return known
  const from = known ? known.revision + 1 : 0
  const history = await eventStore.readStream(stream.streamName, { fromRevision: from })
  return { state: foldRecorded(decider, history, known ? { from: known.state } : {}), revision: from + history.length - 1 }
}
