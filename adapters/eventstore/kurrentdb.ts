/**
 * EventStore on KurrentDB (formerly EventStoreDB), through @kurrent/kurrentdb-client, the
 * maintained continuation of the design card's @eventstore/db-client (same gRPC protocol;
 * the append option `expectedRevision` is now `streamState`).
 *
 * Vocabulary mapped here and nowhere else:
 * - expected revision: `no_stream` → NO_STREAM, `stream_exists` → STREAM_EXISTS, `any` →
 *   ANY, a number → that revision as a BigInt; WrongExpectedVersionError → ConcurrencyError.
 * - a stream that does not exist (StreamNotFoundError) reads as [].
 * - positions: the port's numeric position is the event's commit position in $all. Every
 *   append through gRPC writes self-committed prepares, so each event has a commit position
 *   of its own, equal to its prepare position (only the legacy TCP API's explicit
 *   transactions made them differ, and this adapter never uses them). The number is mapped
 *   back to `{ commit: n, prepare: n }`. Commit positions are byte offsets in the transaction
 *   log: strictly increasing but sparse (the port allows gaps), and exact in a JavaScript
 *   number up to 2^53 bytes (8 PiB of log); beyond that the adapter refuses to guess.
 * - system events ($-prefixed types or streams) are never delivered, read or counted.
 *
 * `streamPrefix` keeps the streams of one deployment (or one contract test case) apart from
 * everything else in the same KurrentDB: names are prefixed on the way in and stripped on the
 * way out, and the $all reads and the subscription filter on the prefix server-side.
 */
import {
  ANY,
  BACKWARDS,
  END,
  FORWARDS,
  KurrentDBClient,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  WrongExpectedVersionError,
  excludeSystemEvents,
  jsonEvent,
  streamNameFilter,
  type AllStreamRecordedEvent,
  type AllStreamSubscription,
  type AppendStreamState,
  type CurrentStreamState,
  type Filter,
  type JSONType,
  type Position,
} from '@kurrent/kurrentdb-client'
import type {
  AppendResult,
  EventMetadata,
  EventStore,
  EventToAppend,
  ExpectedRevision,
  RecordedEvent,
  SubscribeOptions,
  SubscriptionHandler,
  Subscription,
} from '../../domain/ports/event-store.ts'
import { ConcurrencyError } from '../../domain/errors.ts'

export interface KurrentEventStoreOptions {
  /** e.g. `kurrentdb://admin:changeit@localhost:2113?tls=false` (esdb:// works too) */
  readonly connectionString: string
  /** prepended to every stream name; '' (the default) for none */
  readonly streamPrefix?: string
  /** told each time the live subscription dropped and is about to resubscribe */
  readonly onSubscriptionDropped?: (error: unknown, attempt: number) => void
  /** first delay before resubscribing; doubles up to 5 s */
  readonly resubscribeDelayMs?: number
}

const maxResubscribeDelayMs = 5000

/** The port's numeric position → KurrentDB's; see the header for why commit = prepare. */
export function toKurrentPosition(position: number): Position {
  if (!Number.isSafeInteger(position) || position < 0) throw new RangeError(`Not a KurrentDB position: ${position}`)
  return { commit: BigInt(position), prepare: BigInt(position) }
}

/** KurrentDB's position → the port's number; refuses what a number cannot hold exactly. */
export function fromKurrentPosition(position: Position): number {
  const value = Number(position.commit)
  if (!Number.isSafeInteger(value)) throw new RangeError(`KurrentDB commit position ${position.commit} exceeds 2^53`)
  return value
}

export function toStreamState(expected: ExpectedRevision): AppendStreamState {
  switch (expected) {
    case 'no_stream':
      return NO_STREAM
    case 'stream_exists':
      return STREAM_EXISTS
    case 'any':
      return ANY
    default:
      return BigInt(expected)
  }
}

const describeState = (state: AppendStreamState | CurrentStreamState | undefined): string =>
  state === undefined ? 'unknown' : String(state)

const isSystem = (type: string, stream: string): boolean => type.startsWith('$') || stream.startsWith('$')

export class KurrentEventStore implements EventStore {
  private readonly client: KurrentDBClient
  private readonly prefix: string
  private readonly filter: Filter
  private readonly inflight = new Set<Promise<unknown>>()
  private closed = false

  constructor(private readonly options: KurrentEventStoreOptions) {
    this.client = KurrentDBClient.connectionString(options.connectionString)
    this.prefix = options.streamPrefix ?? ''
    this.filter = this.prefix ? streamNameFilter({ prefixes: [this.prefix] }) : excludeSystemEvents()
  }

  appendToStream(
    streamName: string,
    events: readonly EventToAppend[],
    options: { readonly expectedRevision: ExpectedRevision },
  ): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new Error('event store is closed'))
    if (events.length === 0) return Promise.reject(new RangeError(`An append to ${streamName} needs at least one event`))
    const append = this.append(streamName, events, options.expectedRevision)
    this.inflight.add(append)
    const forget = (): void => void this.inflight.delete(append)
    append.then(forget, forget)
    return append
  }

  private async append(streamName: string, events: readonly EventToAppend[], expected: ExpectedRevision): Promise<AppendResult> {
    const data = events.map((event) => {
      // Fails here, before anything is sent, on data JSON cannot carry (a BigInt, a cycle).
      JSON.stringify(event.data)
      JSON.stringify(event.metadata)
      return jsonEvent({
        id: event.id,
        type: event.type,
        data: event.data as JSONType,
        metadata: event.metadata as unknown as JSONType,
      })
    })
    try {
      const result = await this.client.appendToStream(this.prefix + streamName, data, { streamState: toStreamState(expected) })
      const nextRevision = Number(result.nextExpectedRevision)
      // The append's position is that of its last event (the last self-committed prepare);
      // should a server leave it out, read the stream's last event instead.
      const position = result.position ? fromKurrentPosition(result.position) : await this.positionOfRevision(streamName, nextRevision)
      return { nextRevision, position }
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        throw new ConcurrencyError(streamName, describeState(error.expectedState), describeState(error.actualState))
      }
      throw error
    }
  }

  async streamRevision(streamName: string): Promise<number> {
    return (await this.lastEvent(streamName))?.revision ?? -1
  }

  private async lastEvent(streamName: string): Promise<RecordedEvent | undefined> {
    try {
      for await (const resolved of this.client.readStream(this.prefix + streamName, {
        direction: BACKWARDS,
        fromRevision: END,
        maxCount: 1,
      })) {
        if (resolved.event) return this.toRecorded(resolved.event as AllStreamRecordedEvent)
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return undefined
      throw error
    }
    return undefined
  }

  private async positionOfRevision(streamName: string, revision: number): Promise<number> {
    const last = await this.lastEvent(streamName)
    if (!last || last.revision < revision) throw new Error(`Stream ${streamName} has no revision ${revision} after appending it`)
    return last.position
  }

  async readStream(streamName: string, options: { readonly fromRevision?: number } = {}): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = []
    try {
      for await (const resolved of this.client.readStream(this.prefix + streamName, {
        direction: FORWARDS,
        fromRevision: BigInt(options.fromRevision ?? 0),
      })) {
        const recorded = resolved.event && this.toRecorded(resolved.event as AllStreamRecordedEvent)
        if (recorded) out.push(recorded)
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return []
      throw error
    }
    return out
  }

  async readAll(options: { readonly fromPosition: number | null; readonly maxCount: number }): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = []
    let from = options.fromPosition
    // KurrentDB reads $all from a position inclusively; the port reads strictly after it.
    // One page more than asked covers the event at the position itself; another page is
    // read only if events were dropped here that the server's filter let through.
    while (out.length < options.maxCount) {
      const pageSize = options.maxCount - out.length + 1
      let raw = 0
      let last: number | null = null
      for await (const resolved of this.client.readAll({
        direction: FORWARDS,
        fromPosition: from === null ? START : toKurrentPosition(from),
        maxCount: pageSize,
        filter: this.filter,
        resolveLinkTos: false,
      })) {
        if (!resolved.event) continue
        raw += 1
        last = fromKurrentPosition(resolved.event.position)
        const recorded = this.toRecorded(resolved.event)
        if (!recorded || (from !== null && recorded.position <= from)) continue
        out.push(recorded)
        if (out.length >= options.maxCount) break
      }
      if (raw < pageSize || last === null) break
      from = last
    }
    return out
  }

  subscribeToAll(options: SubscribeOptions, handler: SubscriptionHandler): Subscription {
    const types = options.eventTypes === undefined ? null : new Set(options.eventTypes)
    const maxBatch = options.maxBatch ?? 1000
    const baseDelay = this.options.resubscribeDelayMs ?? 100
    let position = options.fromPosition
    let stopped = false
    let current: AllStreamSubscription | undefined

    // One wake-up signal for "the subscription has data, ended, failed, or stop() was called".
    let signalled = false
    let waiter: (() => void) | undefined
    const wake = (): void => {
      signalled = true
      waiter?.()
    }
    const waitForWake = (timeoutMs?: number): Promise<void> =>
      signalled
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const timer = timeoutMs === undefined ? undefined : setTimeout(() => waiter?.(), timeoutMs)
            waiter = () => {
              waiter = undefined
              clearTimeout(timer)
              resolve()
            }
          })

    const run = async (): Promise<void> => {
      let attempt = 0
      while (!stopped) {
        let failure: unknown
        let ended = false
        const subscription = this.client.subscribeToAll(
          { fromPosition: position === null ? START : toKurrentPosition(position), filter: this.filter, resolveLinkTos: false },
          { highWaterMark: maxBatch },
        )
        current = subscription
        subscription.on('error', (error: Error) => {
          failure = error
          wake()
        })
        subscription.on('end', () => {
          ended = true
          wake()
        })
        subscription.on('close', () => {
          ended = true
          wake()
        })
        subscription.on('readable', wake)
        try {
          while (!stopped) {
            signalled = false
            const batch: RecordedEvent[] = []
            let item: unknown
            while (batch.length < maxBatch && (item = subscription.read()) !== null) {
              const event = (item as { event?: AllStreamRecordedEvent }).event
              const recorded = event && this.toRecorded(event)
              // A resubscription may hand back the event at its start position again.
              if (recorded && (position === null || recorded.position > position)) batch.push(recorded)
            }
            if (batch.length > 0) {
              const through = batch[batch.length - 1]!.position
              // a failure here ends the subscription (onError)
              await handler(types === null ? batch : batch.filter((event) => types.has(event.type)), through)
              position = through
              attempt = 0
              continue
            }
            if (failure !== undefined || ended) break
            await waitForWake()
          }
        } finally {
          current = undefined
          await subscription.unsubscribe().catch(() => {})
        }
        if (stopped) break
        // The connection dropped (a server restart, a network failure): resubscribe from the
        // last position handed over, after a growing pause.
        attempt += 1
        this.options.onSubscriptionDropped?.(failure ?? new Error('subscription ended'), attempt)
        signalled = false
        await waitForWake(Math.min(baseDelay * 2 ** (attempt - 1), maxResubscribeDelayMs))
      }
    }
    const running = run().catch((error: unknown) => {
      if (options.onError) options.onError(error)
      else throw error
    })
    return {
      stop: async () => {
        stopped = true
        wake()
        await current?.unsubscribe().catch(() => {})
        await running
      },
    }
  }

  async headPosition(): Promise<number | null> {
    for await (const resolved of this.client.readAll({
      direction: BACKWARDS,
      fromPosition: END,
      maxCount: 1,
      filter: this.filter,
      resolveLinkTos: false,
    })) {
      if (resolved.event) return fromKurrentPosition(resolved.event.position)
    }
    return null
  }

  async ping(): Promise<void> {
    // The cheapest call that needs the server: one event of $all, whatever it is.
    for await (const _ of this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 })) break
  }

  /** Waits for the appends in flight, then closes the connection. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await Promise.allSettled([...this.inflight])
    await this.client.dispose()
  }

  /** KurrentDB's recorded event → the port's; undefined for what the port never shows. */
  private toRecorded(event: AllStreamRecordedEvent): RecordedEvent | undefined {
    if (isSystem(event.type, event.streamId) || !event.streamId.startsWith(this.prefix)) return undefined
    if (!event.position) throw new Error(`Event ${event.id} was read without a position`)
    const decode = (value: unknown): unknown =>
      value instanceof Uint8Array ? (value.length === 0 ? null : JSON.parse(Buffer.from(value).toString('utf8'))) : value
    return {
      id: event.id,
      streamName: event.streamId.slice(this.prefix.length),
      revision: Number(event.revision),
      position: fromKurrentPosition(event.position),
      type: event.type,
      data: decode(event.data),
      metadata: decode(event.metadata) as EventMetadata,
    } as RecordedEvent
  }
}
