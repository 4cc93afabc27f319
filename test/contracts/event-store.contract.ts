/**
 * The EventStore contract: the behaviour every adapter of the port (domain/ports/event-store.ts)
 * must show, whatever engine is behind it. test/contracts/sqlite.test.ts runs it against the
 * embedded adapter; a scale-out adapter runs the same suite when its URL is set.
 *
 * Each case opens the adapter on storage of its own, empty at the start (a fresh directory,
 * a fresh database), and may reopen that same storage to check what survives a restart.
 * Streams are named with fresh ids anyway, and event ids are UUIDs, as KurrentDB requires.
 *
 * Nothing here waits on the clock: a subscription is awaited through a promise its handler
 * resolves, guarded by a generous safety timeout that fails the case instead of hanging it.
 */
import { randomUUID } from 'node:crypto'
import type { Test } from 'tap'
import type {
  AppendResult,
  EventMetadata,
  EventStore,
  EventToAppend,
  RecordedEvent,
  SubscribeOptions,
  Subscription,
} from '../../domain/ports/event-store.ts'
import { ConcurrencyError } from '../../domain/errors.ts'
import { deferred, within as waitWithin, type Deferred } from '../helpers/async.ts'

export interface OpenedEventStore {
  readonly store: EventStore
  /** calls the store’s close(), then closes whatever was opened for it; closing twice is harmless */
  close(): Promise<void>
  /** closes this instance, then opens the same storage again */
  reopen(): Promise<OpenedEventStore>
}

/** Opens the adapter on fresh, empty storage for one case; closes it in `t.teardown`. */
export type OpenEventStore = (t: Test) => Promise<OpenedEventStore>

const safetyTimeoutMs = 10_000

/** Resolves as `promise` does, or fails the case once the safety timeout has passed. */
const within = <T>(promise: Promise<T>, what: string): Promise<T> => waitWithin(promise, what, safetyTimeoutMs)

const metadata = (n: number): EventMetadata => ({
  actor: { type: 'user', id: 'user-1' },
  account_id: 'account-1',
  client_id: n % 2 === 0 ? null : 'client-1',
  correlation_id: `correlation-${n}`,
  causation_id: `causation-${n}`,
  time: `2026-01-02T03:04:${String(n % 60).padStart(2, '0')}.000Z`,
})

let counter = 0

/** A distinct event; its data holds every JSON shape that must survive the store exactly. */
function event(type = 'ThingUpdated'): EventToAppend {
  counter += 1
  return {
    id: randomUUID(),
    type,
    data: {
      n: counter,
      name: `Thermomètre n°${counter} ✓ "quoted" \\ 🌶`,
      ratio: 0.125,
      negative: -42,
      flag: counter % 2 === 0,
      nothing: null,
      list: [1, 'two', false, null, { three: 3 }],
      nested: { deeper: { deepest: ['a', 'b'] }, empty: {} },
    },
    metadata: metadata(counter),
  }
}

const events = (count: number): EventToAppend[] => Array.from({ length: count }, () => event())

const streamName = (): string => `thing-${randomUUID()}`

/** What an append wrote, compared field by field with what was read back. */
const asWritten = (e: EventToAppend) => ({ id: e.id, type: e.type, data: e.data, metadata: e.metadata })
const asRead = (e: RecordedEvent) => ({ id: e.id, type: e.type, data: e.data, metadata: e.metadata })

const isConcurrencyError = (result: PromiseSettledResult<unknown>): boolean =>
  result.status === 'rejected' && result.reason instanceof ConcurrencyError

function strictlyIncreasing(values: readonly number[]): boolean {
  return values.every((value, i) => i === 0 || value > values[i - 1]!)
}

/** A stop() for `subscription` that may be called again, and is called in `t.teardown`. */
function stopOnce(t: Test, subscription: Subscription, beforeStop: () => void = () => {}): () => Promise<void> {
  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => (stopping ??= subscription.stop())
  t.teardown(() => {
    beforeStop()
    return stop()
  })
  return stop
}

/** A running subscription that keeps what it delivered and can be awaited until a condition holds. */
interface Recording {
  readonly batches: (readonly RecordedEvent[])[]
  readonly ids: string[]
  /** resolves once `condition` holds after a delivery; rejects on onError or the safety timeout */
  until(condition: () => boolean, what: string): Promise<void>
  /** stops the subscription; calling it again is harmless */
  stop(): Promise<void>
}

function record(t: Test, store: EventStore, options: SubscribeOptions): Recording {
  const batches: (readonly RecordedEvent[])[] = []
  const ids: string[] = []
  const failed = deferred<unknown>()
  let waiting: { condition: () => boolean; reached: Deferred<void> } | undefined
  const subscription = store.subscribeToAll({ ...options, onError: (error) => failed.resolve(error) }, async (batch) => {
    batches.push(batch)
    ids.push(...batch.map((e) => e.id))
    if (waiting?.condition()) waiting.reached.resolve()
  })
  const stop = stopOnce(t, subscription)
  return {
    batches,
    ids,
    async until(condition, what) {
      if (condition()) return
      const reached = deferred()
      waiting = { condition, reached }
      const failure = failed.promise.then((error) => {
        throw error instanceof Error ? error : new Error(String(error))
      })
      await within(Promise.race([reached.promise, failure]), what)
    },
    stop,
  }
}

export function eventStoreContract(t: Test, name: string, open: OpenEventStore): void {
  t.test(`${name}: EventStore contract`, async (t) => {
    t.test('appending to a new stream with no_stream', async (t) => {
      const { store } = await open(t)
      const stream = streamName()
      const written = events(3)
      const result = await store.appendToStream(stream, written, { expectedRevision: 'no_stream' })
      const read = await store.readStream(stream)

      t.equal(result.nextRevision, 2, 'nextRevision is the revision of the last event')
      t.strictSame(read.map((e) => e.revision), [0, 1, 2], 'revisions start at 0')
      t.strictSame(read.map(asRead), written.map(asWritten), 'id, type, data and metadata round-trip exactly')
      t.ok(read.every((e) => e.streamName === stream), 'each event names its stream')
      t.ok(strictlyIncreasing(read.map((e) => e.position)), 'positions increase within the append')
      t.equal(result.position, read[2]?.position, 'position is that of the last event appended')
    })

    t.test('a stream that does not exist reads as empty', async (t) => {
      const { store } = await open(t)
      t.strictSame(await store.readStream(streamName()), [])
      t.strictSame(await store.readStream(streamName(), { fromRevision: 3 }), [])
    })

    t.test('reading a stream from a revision', async (t) => {
      const { store } = await open(t)
      const stream = streamName()
      const written = events(5)
      await store.appendToStream(stream, written, { expectedRevision: 'no_stream' })

      const fromTwo = await store.readStream(stream, { fromRevision: 2 })
      t.strictSame(fromTwo.map((e) => e.revision), [2, 3, 4], 'from revision 2 on, inclusive')
      t.strictSame(fromTwo.map(asRead), written.slice(2).map(asWritten))
      t.strictSame((await store.readStream(stream, { fromRevision: 0 })).length, 5, 'from 0 is the whole stream')
      t.strictSame(await store.readStream(stream, { fromRevision: 5 }), [], 'past the end is empty')
    })

    t.test('several appends to one stream continue its revisions', async (t) => {
      const { store } = await open(t)
      const stream = streamName()
      const first = await store.appendToStream(stream, events(2), { expectedRevision: 'no_stream' })
      const second = await store.appendToStream(stream, events(2), { expectedRevision: 1 })
      const third = await store.appendToStream(stream, events(1), { expectedRevision: 3 })

      t.strictSame([first.nextRevision, second.nextRevision, third.nextRevision], [1, 3, 4])
      t.ok(strictlyIncreasing([first.position, second.position, third.position]), 'positions increase')
      t.strictSame((await store.readStream(stream)).map((e) => e.revision), [0, 1, 2, 3, 4])
    })

    t.test('a stale expected revision is refused and writes nothing', async (t) => {
      const { store } = await open(t)
      const stream = streamName()
      const original = events(2)
      await store.appendToStream(stream, original, { expectedRevision: 'no_stream' })
      const head = await store.headPosition()

      await t.rejects(store.appendToStream(stream, events(2), { expectedRevision: 0 }), ConcurrencyError, 'behind the stream')
      await t.rejects(store.appendToStream(stream, events(2), { expectedRevision: 2 }), ConcurrencyError, 'ahead of the stream')
      await t.rejects(
        store.appendToStream(streamName(), events(1), { expectedRevision: 0 }),
        ConcurrencyError,
        'a number on a stream that does not exist',
      )

      t.strictSame((await store.readStream(stream)).map(asRead), original.map(asWritten), 'the stream is unchanged')
      t.equal(await store.headPosition(), head, 'the log is unchanged')
    })

    t.test('no_stream on an existing stream is refused', async (t) => {
      const { store } = await open(t)
      const stream = streamName()
      await store.appendToStream(stream, events(1), { expectedRevision: 'no_stream' })
      await t.rejects(store.appendToStream(stream, events(1), { expectedRevision: 'no_stream' }), ConcurrencyError)
      t.equal((await store.readStream(stream)).length, 1, 'nothing was written')
    })

    t.test('stream_exists needs the stream to exist', async (t) => {
      const { store } = await open(t)
      const stream = streamName()
      await t.rejects(store.appendToStream(stream, events(1), { expectedRevision: 'stream_exists' }), ConcurrencyError)
      t.strictSame(await store.readStream(stream), [], 'nothing was written')
      t.equal(await store.headPosition(), null, 'the log is still empty')

      await store.appendToStream(stream, events(1), { expectedRevision: 'no_stream' })
      const result = await store.appendToStream(stream, events(1), { expectedRevision: 'stream_exists' })
      t.equal(result.nextRevision, 1, 'succeeds once the stream exists')
    })

    t.test('any appends whatever the stream holds', async (t) => {
      const { store } = await open(t)
      const stream = streamName()
      const first = await store.appendToStream(stream, events(2), { expectedRevision: 'any' })
      const second = await store.appendToStream(stream, events(1), { expectedRevision: 'any' })
      t.equal(first.nextRevision, 1, 'creates the stream')
      t.equal(second.nextRevision, 2, 'appends to the existing stream')
      t.equal((await store.readStream(stream)).length, 3)
    })

    t.test("streamRevision tells the stream's last revision without reading its events (what the telemetry processor asks)", async (t) => {
      const { store } = await open(t)
      const stream = streamName()
      t.equal(await store.streamRevision(stream), -1, 'a stream that does not exist')
      t.strictSame(await store.readStream(stream), [], 'and it still does not')
      await store.appendToStream(stream, events(3), { expectedRevision: 'no_stream' })
      t.equal(await store.streamRevision(stream), 2, 'the revision of its last event')
      t.equal((await store.readStream(stream)).length, 3, 'nothing was added')
      await store.appendToStream(stream, events(1), { expectedRevision: 2 })
      t.equal(await store.streamRevision(stream), 3, 'follows the appends')
    })

    t.test('an append of no events is refused and writes nothing', async (t) => {
      const { store } = await open(t)
      const stream = streamName()
      await t.rejects(store.appendToStream(stream, [], { expectedRevision: 'any' }), RangeError, 'refused')
      t.equal(await store.streamRevision(stream), -1, 'no stream was created')
      t.equal(await store.headPosition(), null, 'the log is still empty')
    })

    t.test('many appends issued in the same tick all succeed, each with its own positions', async (t) => {
      const { store } = await open(t)
      const appends = Array.from({ length: 50 }, () => ({ stream: streamName(), events: events(3) }))
      const results = await Promise.all(
        appends.map((a) => store.appendToStream(a.stream, a.events, { expectedRevision: 'no_stream' })),
      )

      t.ok(results.every((r) => r.nextRevision === 2), 'each stream got its three events')
      t.equal(new Set(results.map((r) => r.position)).size, results.length, 'every append has a distinct position')

      const all = await store.readAll({ fromPosition: null, maxCount: 1000 })
      t.equal(all.length, 150, 'every event is in the log')
      t.ok(strictlyIncreasing(all.map((e) => e.position)), 'the log is in increasing position order')
      for (const [i, a] of appends.entries()) {
        const read = await store.readStream(a.stream)
        t.strictSame(read.map(asRead), a.events.map(asWritten), `append ${i} is readable`)
        t.ok(strictlyIncreasing(read.map((e) => e.position)), `append ${i} has increasing positions`)
        t.equal(results[i]?.position, read[2]?.position, `append ${i} reports the position of its last event`)
      }
    })

    t.test('concurrent appends naming the same expected revision: exactly one wins', async (t) => {
      const { store } = await open(t)
      const stream = streamName()
      const first = event()
      await store.appendToStream(stream, [first], { expectedRevision: 'no_stream' })

      const contenders = Array.from({ length: 10 }, () => events(2))
      const settled = await Promise.allSettled(
        contenders.map((written) => store.appendToStream(stream, written, { expectedRevision: 0 })),
      )
      const winners = settled.flatMap((s, i) => (s.status === 'fulfilled' ? [i] : []))
      t.equal(winners.length, 1, 'one append succeeds')
      t.equal(settled.filter(isConcurrencyError).length, 9, 'every other one fails with ConcurrencyError')

      const winner = winners[0]!
      const read = await store.readStream(stream)
      t.strictSame(read.map(asRead), [first, ...contenders[winner]!].map(asWritten), 'only the winner was written')
      t.equal((await store.readAll({ fromPosition: null, maxCount: 1000 })).length, 3, 'the log holds no loser')
    })

    t.test('concurrent no_stream appends creating the same stream: exactly one wins', async (t) => {
      const { store } = await open(t)
      const stream = streamName()
      const contenders = Array.from({ length: 10 }, () => events(1))
      const settled = await Promise.allSettled(
        contenders.map((written) => store.appendToStream(stream, written, { expectedRevision: 'no_stream' })),
      )
      const winners = settled.flatMap((s, i) => (s.status === 'fulfilled' ? [i] : []))
      t.equal(winners.length, 1, 'one append succeeds')
      t.equal(settled.filter(isConcurrencyError).length, 9, 'every other one fails with ConcurrencyError')
      t.strictSame((await store.readStream(stream)).map(asRead), contenders[winners[0]!]!.map(asWritten))
    })

    t.test('an append that fails does not fail the others issued with it', async (t) => {
      const { store } = await open(t)
      const existing = streamName()
      await store.appendToStream(existing, events(1), { expectedRevision: 'no_stream' })

      const before = { stream: streamName(), events: events(2) }
      const after = { stream: streamName(), events: events(2) }
      const unstorable = { stream: streamName(), events: [event(), { ...event(), data: { reading: 10n } }] }
      const settled = await Promise.allSettled([
        store.appendToStream(before.stream, before.events, { expectedRevision: 'no_stream' }),
        store.appendToStream(existing, events(1), { expectedRevision: 5 }),
        store.appendToStream(unstorable.stream, unstorable.events, { expectedRevision: 'no_stream' }),
        store.appendToStream(after.stream, after.events, { expectedRevision: 'no_stream' }),
      ])

      t.equal(settled[0]?.status, 'fulfilled', 'the append before the failures succeeds')
      t.ok(isConcurrencyError(settled[1]!), 'the conflicting append fails with ConcurrencyError')
      t.equal(settled[2]?.status, 'rejected', 'the append whose data is not JSON fails')
      t.notOk(isConcurrencyError(settled[2]!), '... and not as a conflict')
      t.equal(settled[3]?.status, 'fulfilled', 'the append after the failures succeeds')

      t.strictSame((await store.readStream(before.stream)).map(asRead), before.events.map(asWritten))
      t.strictSame((await store.readStream(after.stream)).map(asRead), after.events.map(asWritten))
      t.equal((await store.readStream(existing)).length, 1, 'the conflicting append wrote nothing')
      t.strictSame(await store.readStream(unstorable.stream), [], 'the failed append wrote none of its events')
      t.equal((await store.readAll({ fromPosition: null, maxCount: 1000 })).length, 5, 'the log holds only what succeeded')
    })

    t.test('readAll reads the global log in order, after a position, at most maxCount', async (t) => {
      const { store } = await open(t)
      const a = streamName()
      const b = streamName()
      const order: EventToAppend[] = []
      const append = async (stream: string, written: EventToAppend[]): Promise<AppendResult> => {
        order.push(...written)
        return store.appendToStream(stream, written, { expectedRevision: 'any' })
      }
      await append(a, events(2))
      await append(b, events(1))
      await append(a, events(1))
      const last = await append(b, events(2))

      const all = await store.readAll({ fromPosition: null, maxCount: 100 })
      t.strictSame(all.map(asRead), order.map(asWritten), 'from null: every event, in the order appended')
      t.ok(strictlyIncreasing(all.map((e) => e.position)), 'positions increase')
      t.equal(all[all.length - 1]?.position, last.position, 'the last event is at the last append position')
      t.strictSame(all.map((e) => [e.streamName, e.revision]), [[a, 0], [a, 1], [b, 0], [a, 2], [b, 1], [b, 2]])

      const page = await store.readAll({ fromPosition: all[1]!.position, maxCount: 3 })
      t.strictSame(page.map((e) => e.id), all.slice(2, 5).map((e) => e.id), 'strictly after the position, maxCount events')
      t.strictSame(
        (await store.readAll({ fromPosition: null, maxCount: 2 })).map((e) => e.id),
        all.slice(0, 2).map((e) => e.id),
        'maxCount from the start',
      )
      t.strictSame(await store.readAll({ fromPosition: last.position, maxCount: 100 }), [], 'nothing after the head')
    })

    t.test('headPosition is null on an empty log, then the position of the newest event', async (t) => {
      const { store } = await open(t)
      t.equal(await store.headPosition(), null)
      const first = await store.appendToStream(streamName(), events(2), { expectedRevision: 'no_stream' })
      t.equal(await store.headPosition(), first.position)
      const second = await store.appendToStream(streamName(), events(1), { expectedRevision: 'no_stream' })
      t.equal(await store.headPosition(), second.position)
    })

    t.test('ping resolves on an open store', async (t) => {
      const { store } = await open(t)
      await t.resolves(store.ping())
    })

    t.test('subscribeToAll from null delivers existing then live events, in order, once, in bounded batches', async (t) => {
      const { store } = await open(t)
      const stream = streamName()
      const existing = events(5)
      await store.appendToStream(stream, existing, { expectedRevision: 'no_stream' })

      const subscription = record(t, store, { fromPosition: null, maxBatch: 2 })
      await subscription.until(() => subscription.ids.length >= 5, 'the existing events')
      const live = [events(3), events(1)]
      await store.appendToStream(stream, live[0]!, { expectedRevision: 4 })
      await store.appendToStream(streamName(), live[1]!, { expectedRevision: 'no_stream' })
      await subscription.until(() => subscription.ids.length >= 9, 'the live events')
      // One more event, awaited: any duplicate or stray delivery would come before it.
      const sentinel = events(1)
      await store.appendToStream(streamName(), sentinel, { expectedRevision: 'no_stream' })
      await subscription.until(() => subscription.ids.includes(sentinel[0]!.id), 'the sentinel event')
      await subscription.stop()

      t.strictSame(subscription.ids, [...existing, ...live.flat(), ...sentinel].map((e) => e.id), 'each event once, in order')
      const positions = subscription.batches.flat().map((e) => e.position)
      t.ok(strictlyIncreasing(positions), 'in increasing position order')
      t.ok(
        subscription.batches.every((batch) => batch.length >= 1 && batch.length <= 2),
        'no batch is empty or larger than maxBatch',
      )
    })

    t.test('subscribeToAll with eventTypes delivers only those types, and `through` passes the others', async (t) => {
      const { store } = await open(t)
      const typed = (type: string): EventToAppend => ({ ...event(), type })
      const wanted = [typed('RareThing'), typed('OtherRareThing')]
      const before = [typed('Common'), typed('Common')]
      await store.appendToStream(streamName(), [...before, wanted[0]!, typed('Common')], { expectedRevision: 'no_stream' })
      const throughs: number[] = []
      const delivered: RecordedEvent[] = []
      const sentinel = deferred<void>()
      const subscription = store.subscribeToAll(
        { fromPosition: null, maxBatch: 10, eventTypes: ['RareThing', 'OtherRareThing'] },
        async (batch, through) => {
          delivered.push(...batch)
          throughs.push(through)
          if (delivered.some((e) => e.id === wanted[1]!.id)) sentinel.resolve()
        },
      )
      const stop = stopOnce(t, subscription)
      const tail = await store.appendToStream(streamName(), [typed('Common'), wanted[1]!, typed('Common')], { expectedRevision: 'no_stream' })
      await within(sentinel.promise, 'the second rare event')
      // `through` reaches the head once the common events after it are looked through.
      while ((throughs.at(-1) ?? -1) < tail.position) {
        await store.appendToStream(streamName(), [typed('Common')], { expectedRevision: 'no_stream' })
        await new Promise((resolve) => setTimeout(resolve, 10))
        if (throughs.length > 1000) break
      }
      await stop()
      t.strictSame(delivered.map((e) => e.id), wanted.map((e) => e.id), 'only the wanted types, in order, once')
      t.ok(throughs.every((through, i) => i === 0 || through >= throughs[i - 1]!), '`through` never goes back')
      t.ok(delivered.every((e) => throughs.some((through) => through >= e.position)), '`through` covers every delivered event')
      t.ok(throughs.at(-1)! >= tail.position, '`through` passes events of other types')
    })

    t.test('subscribeToAll catches up on more events than one batch holds', async (t) => {
      const { store } = await open(t)
      const written = events(25)
      await store.appendToStream(streamName(), written, { expectedRevision: 'no_stream' })
      const subscription = record(t, store, { fromPosition: null, maxBatch: 10 })
      await subscription.until(() => subscription.ids.length >= 25, 'all 25 events')
      await subscription.stop()
      t.strictSame(subscription.ids, written.map((e) => e.id))
      t.ok(subscription.batches.length >= 3, 'in at least three batches')
      t.ok(subscription.batches.every((batch) => batch.length <= 10), 'none larger than maxBatch')
    })

    t.test('subscribeToAll from a position resumes strictly after it', async (t) => {
      const { store } = await open(t)
      const written = events(6)
      await store.appendToStream(streamName(), written, { expectedRevision: 'no_stream' })
      const all = await store.readAll({ fromPosition: null, maxCount: 100 })
      const from = all[2]!.position

      const subscription = record(t, store, { fromPosition: from })
      await subscription.until(() => subscription.ids.length >= 3, 'the events after the third')
      const live = events(1)
      await store.appendToStream(streamName(), live, { expectedRevision: 'no_stream' })
      await subscription.until(() => subscription.ids.includes(live[0]!.id), 'a live event')
      await subscription.stop()

      t.strictSame(subscription.ids, [...written.slice(3), ...live].map((e) => e.id), 'only the events after the position')
      t.ok(subscription.batches.flat().every((e) => e.position > from))
    })

    t.test('stop() waits for the batch in flight and ends delivery', async (t) => {
      const { store } = await open(t)
      await store.appendToStream(streamName(), events(2), { expectedRevision: 'no_stream' })

      const inHandler = deferred()
      const release = deferred()
      const delivered: RecordedEvent[] = []
      let handlerFinished = false
      const errors: unknown[] = []
      const subscription = store.subscribeToAll(
        { fromPosition: null, onError: (error) => errors.push(error) },
        async (batch) => {
          delivered.push(...batch)
          inHandler.resolve()
          await release.promise
          handlerFinished = true
        },
      )
      const stop = stopOnce(t, subscription, () => release.resolve())
      await within(inHandler.promise, 'the first delivery')
      const stopping = stop()
      // Release the handler only after a full turn of the event loop: a stop() that did not
      // wait for the handler would have resolved by then.
      setImmediate(() => release.resolve())
      await within(stopping, 'stop()')
      t.ok(handlerFinished, 'stop() resolved only once the handler in flight had finished')

      const deliveredBeforeStop = delivered.length
      const later = events(3)
      await store.appendToStream(streamName(), later, { expectedRevision: 'no_stream' })
      // A second subscription that sees the new events proves they were there to deliver.
      const control = record(t, store, { fromPosition: null })
      await control.until(() => control.ids.includes(later[2]!.id), 'a control subscription to see the later events')
      await control.stop()
      t.equal(delivered.length, deliveredBeforeStop, 'the stopped subscription delivered nothing more')
      t.strictSame(errors, [], 'stopping is not an error')
    })

    t.test('a handler that throws ends the subscription through onError', async (t) => {
      const { store } = await open(t)
      await store.appendToStream(streamName(), events(2), { expectedRevision: 'no_stream' })

      const failure = new Error('projection failed')
      const reported = deferred<unknown>()
      let calls = 0
      const subscription = store.subscribeToAll(
        { fromPosition: null, onError: (error) => reported.resolve(error) },
        async () => {
          calls += 1
          throw failure
        },
      )
      const stop = stopOnce(t, subscription)
      t.equal(await within(reported.promise, 'onError'), failure, 'onError receives what the handler threw')
      await t.resolves(within(stop(), 'stop() after a failure'), 'stop() still resolves')

      const later = events(1)
      await store.appendToStream(streamName(), later, { expectedRevision: 'no_stream' })
      const control = record(t, store, { fromPosition: null })
      await control.until(() => control.ids.includes(later[0]!.id), 'a control subscription to see the later event')
      await control.stop()
      t.equal(calls, 1, 'the failed subscription delivered nothing more')
    })

    t.test('close() writes the appends still queued', async (t) => {
      const opened = await open(t)
      const stream = streamName()
      const written = events(2)
      const appended = opened.store.appendToStream(stream, written, { expectedRevision: 'no_stream' })
      // Close the store and what holds it (the database, the connection) before the
      // append has settled: close() itself must have written it.
      await opened.close()
      const result = await within(appended, 'the queued append')
      t.equal(result.nextRevision, 1, 'the queued append resolved')

      const reopened = await opened.reopen()
      const read = await reopened.store.readStream(stream)
      t.strictSame(read.map(asRead), written.map(asWritten), 'and is there after reopening')
      t.equal(await reopened.store.headPosition(), result.position)
    })

    t.test('events, revisions and positions survive a reopen', async (t) => {
      const opened = await open(t)
      const stream = streamName()
      const first = await opened.store.appendToStream(stream, events(2), { expectedRevision: 'no_stream' })
      const reopened = await opened.reopen()

      t.equal(await reopened.store.headPosition(), first.position)
      await t.rejects(reopened.store.appendToStream(stream, events(1), { expectedRevision: 'no_stream' }), ConcurrencyError)
      const second = await reopened.store.appendToStream(stream, events(1), { expectedRevision: 1 })
      t.equal(second.nextRevision, 2, 'revisions continue')
      t.ok(second.position > first.position, 'positions continue to increase')
    })
  })
}
