/**
 * Live telemetry for `GET /v1.1/things/{id}/stream`: one subscription to the event log
 * per process, shared by every open stream, fanning each thing's telemetry events out to
 * that thing's listeners. It runs while someone listens and stops with the last one.
 *
 * A listener is told each event of `telemetry-<thingId>` with its stream revision, which
 * the SSE `id:` carries (`r`, or `r.i` for reading i of a `SensorReadingsRecorded`):
 * revisions are dense, so a resumed stream reads exactly what it missed from the thing's
 * stream, from within an event if need be, and then continues live, without a gap or a
 * duplicate (see followThing).
 */
import type { EventStore, RecordedEvent } from '../../domain/ports/event-store.ts'
import { LogFollower, type FollowerRegistry } from '../../projections/log-follower.ts'
import type { Logger } from '../../domain/ports/logger.ts'
import { telemetryEventTypes, telemetryStreamOf } from '../../domain/telemetry/telemetry.ts'

type Listener = (event: RecordedEvent) => void

const prefix = telemetryStreamOf('')
const quiet: Logger = { info: () => {}, warn: () => {}, error: () => {} }

export class LiveTelemetry {
  private readonly listeners = new Map<string, Set<Listener>>()
  private starting: Promise<void> | undefined
  private failure: ((error: unknown) => void)[] = []
  readonly follower: LogFollower

  constructor(eventStore: EventStore, options: { readonly logger?: Logger; readonly followers?: FollowerRegistry } = {}) {
    this.follower = new LogFollower({
      name: 'live-telemetry',
      eventStore,
      logger: options.logger ?? quiet,
      maxBatch: 1000,
      // every fact of the telemetry streams, so a follower sees their revisions without gaps
      eventTypes: telemetryEventTypes,
      startAt: 'head',
      handle: async (events) => {
        for (const event of events) {
          if (!event.streamName.startsWith(prefix)) continue
          const set = this.listeners.get(event.streamName.slice(prefix.length))
          if (set) for (const listener of set) listener(event)
        }
      },
      onFailure: (error) => {
        const failed = this.failure
        this.failure = []
        this.starting = undefined
        for (const notify of failed) notify(error)
      },
    })
    options.followers?.add(this.follower)
  }

  /**
   * Adds a listener; resolves once the subscription runs, from then on every event that is
   * appended reaches it. `onFailure` is called if the subscription dies.
   */
  async listen(thingId: string, listener: Listener, onFailure: (error: unknown) => void): Promise<() => void> {
    let set = this.listeners.get(thingId)
    if (!set) this.listeners.set(thingId, (set = new Set()))
    set.add(listener)
    this.failure.push(onFailure)
    const remove = (): void => {
      set.delete(listener)
      if (set.size === 0) this.listeners.delete(thingId)
      this.failure = this.failure.filter((f) => f !== onFailure)
      if (this.listeners.size === 0) void this.stop()
    }
    try {
      await (this.starting ??= this.follower.start())
    } catch (error) {
      remove()
      throw error
    }
    return remove
  }

  private async stop(): Promise<void> {
    const starting = this.starting
    this.starting = undefined
    await starting?.catch(() => {})
    // Someone may have started listening again meanwhile: then the follower keeps running.
    if (this.starting === undefined) await this.follower.stop()
  }

  async close(): Promise<void> {
    this.listeners.clear()
    await this.stop()
  }
}

export interface FollowOptions {
  readonly eventStore: EventStore
  readonly live: LiveTelemetry
  readonly thingId: string
  /**
   * What the client has: through the event at `revision`, or through its reading `index`
   * only (the rest of that event is still to come); undefined: only what comes from now on
   */
  readonly after: { readonly revision: number; readonly index?: number } | undefined
  /**
   * Called with each event, in revision order, exactly once, and the index of its first
   * reading the client lacks: 0, except for the event a resume points within (`index + 1`).
   */
  readonly deliver: (event: RecordedEvent, fromIndex: number) => void
  readonly onFailure: (error: unknown) => void
}

/**
 * Replays the thing's telemetry after `after`, then follows it live. Live events that
 * arrive during the replay wait; anything at or before what was delivered is skipped, and
 * a revision that jumps ahead is filled from the stream first. Resolves to the unsubscribe.
 */
export async function followThing(options: FollowOptions): Promise<() => void> {
  const stream = telemetryStreamOf(options.thingId)
  const within = options.after?.index === undefined ? undefined : { revision: options.after.revision, fromIndex: options.after.index + 1 }
  // the last revision delivered in full: the one a resume points within is still to deliver, from `within.fromIndex`
  let last = options.after === undefined ? undefined : within ? within.revision - 1 : options.after.revision
  let queue: Promise<void> = Promise.resolve()
  let closed = false
  const deliverFrom = async (events: readonly RecordedEvent[]): Promise<void> => {
    for (const event of events) {
      if (closed) return
      if (last !== undefined && event.revision <= last) continue
      if (last !== undefined && event.revision > last + 1) {
        await deliverFrom(await options.eventStore.readStream(stream, { fromRevision: last + 1 }))
        if (last !== undefined && event.revision <= last) continue
      }
      last = event.revision
      options.deliver(event, within?.revision === event.revision ? within.fromIndex : 0)
    }
  }
  const enqueue = (work: () => Promise<void>): void => {
    queue = queue.then(work).catch((error: unknown) => {
      closed = true
      options.onFailure(error)
    })
  }
  const unsubscribe = await options.live.listen(options.thingId, (event) => enqueue(() => deliverFrom([event])), options.onFailure)
  if (last !== undefined) {
    const from = last + 1
    enqueue(async () => deliverFrom(await options.eventStore.readStream(stream, { fromRevision: from })))
  }
  return () => {
    closed = true
    unsubscribe()
  }
}
