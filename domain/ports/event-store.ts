/**
 * The EventStore port, shaped by EventStoreDB/KurrentDB: streams of events with a
 * 0-based revision, one global log with increasing positions, appends guarded by an
 * expected revision, and a subscription to the whole log that resumes from a position.
 * Adapters: adapters/eventstore/sqlite.ts (embedded), and the scale-out engine later.
 */
import type { DomainEvent } from '../decider.ts'

export type Actor =
  | { readonly type: 'user'; readonly id: string }
  | { readonly type: 'application'; readonly id: string }
  | { readonly type: 'system'; readonly id: string }

/** What an auditor reads beside every event: who, on whose behalf, why, when. */
export interface EventMetadata {
  readonly actor: Actor
  readonly account_id: string | null
  readonly client_id: string | null
  /** the request (or job run) that caused a chain of events */
  readonly correlation_id: string
  /** the message (request, event) that directly caused this event */
  readonly causation_id: string
  /** ISO 8601, from the clock the command handler was given */
  readonly time: string
}

export interface EventToAppend<E extends DomainEvent = DomainEvent> {
  readonly id: string
  readonly type: E['type']
  readonly data: E['data']
  readonly metadata: EventMetadata
}

interface RecordedEventEnvelope {
  readonly id: string
  readonly streamName: string
  /** 0-based index of the event within its stream */
  readonly revision: number
  /** position in the global log; strictly increasing, not necessarily dense */
  readonly position: number
  readonly metadata: EventMetadata
}

/** An event as stored; distributes over a union, so `switch (event.type)` narrows `data`. */
export type RecordedEvent<E extends DomainEvent = DomainEvent> = E extends DomainEvent
  ? RecordedEventEnvelope & { readonly type: E['type']; readonly data: E['data'] }
  : never

/**
 * `no_stream`: the stream must not exist; `stream_exists`: it must; `any`: no check;
 * a number: the stream's last revision must be exactly that.
 */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | number

export interface AppendResult {
  /** revision of the last event now in the stream */
  readonly nextRevision: number
  /** global position of the last appended event (what read-your-writes waits for) */
  readonly position: number
}

export interface Subscription {
  /** stops delivering; resolves once the handler in flight (if any) has finished */
  stop(): Promise<void>
}

export interface SubscribeOptions {
  /** deliver events strictly after this position; null from the very start */
  readonly fromPosition: number | null
  /** largest batch handed to the handler at once */
  readonly maxBatch?: number
  /** called when the subscription fails for good (the handler threw) */
  readonly onError?: (error: unknown) => void
  /**
   * Deliver only events of these types. The log is mostly readings, and most followers
   * want a few rare types: the engine skips the rest without handing them over. The
   * handler's `through` says how far the log has been looked through, which is beyond
   * the last event delivered; with a filter the handler may get an empty batch that only
   * moves `through`.
   */
  readonly eventTypes?: readonly string[]
}

/** A subscription's handler: a batch in log order, and the position looked through (at least the batch's last). */
export type SubscriptionHandler = (events: readonly RecordedEvent[], through: number) => Promise<void>

export interface EventStore {
  /**
   * Appends atomically, or not at all. Resolves once the events are durable. Rejects
   * with ConcurrencyError when `expectedRevision` does not hold, and with a RangeError
   * when `events` is empty (to learn a stream's revision, ask streamRevision).
   */
  appendToStream(
    streamName: string,
    events: readonly EventToAppend[],
    options: { readonly expectedRevision: ExpectedRevision },
  ): Promise<AppendResult>

  /** Revision of the stream's last event; -1 when the stream does not exist. Reads no event. */
  streamRevision(streamName: string): Promise<number>

  /** The stream's events in order; an empty array when the stream does not exist. */
  readStream(streamName: string, options?: { readonly fromRevision?: number }): Promise<RecordedEvent[]>

  /** Events of the global log strictly after `fromPosition`, in order. */
  readAll(options: { readonly fromPosition: number | null; readonly maxCount: number }): Promise<RecordedEvent[]>

  /**
   * Catches up from `fromPosition`, then delivers new events live, in order, one batch
   * at a time: the next batch waits until the handler's promise resolves.
   */
  subscribeToAll(options: SubscribeOptions, handler: SubscriptionHandler): Subscription

  /** Position of the newest event in the log, null when the log is empty. */
  headPosition(): Promise<number | null>

  /** Rejects when the engine cannot be reached (readiness). */
  ping(): Promise<void>

  close(): Promise<void>
}
