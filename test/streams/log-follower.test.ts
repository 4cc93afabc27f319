/**
 * The one log follower every runner uses: where it starts, its checkpoint, its event types,
 * retrying a failed batch with a growing pause (resuming after what was handled), failing
 * for good without a retry, and the status the registry reports. Against the real SQLite
 * event store.
 */
import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { SqliteEventStore } from '../../adapters/eventstore/sqlite.ts'
import { openDatabase } from '../../adapters/sqlite/database.ts'
import type { EventToAppend, RecordedEvent } from '../../domain/ports/event-store.ts'
import { Backoff, FollowerRegistry, LogFollower, type FollowerHandler, type LogFollowerOptions } from '../../projections/log-follower.ts'
import { eventually } from '../helpers/deliveries.ts'
import { tempDataDir } from '../helpers/server.ts'

const silent = { info: () => {}, warn: () => {}, error: () => {} }
const metadata = { actor: { type: 'system', id: 't' }, account_id: null, client_id: null, correlation_id: 'c', causation_id: 'c', time: '2026-01-01T00:00:00.000Z' } as const
const event = (type: string, n: number): EventToAppend => ({ id: randomUUID(), type, data: { n }, metadata })
/** waits for a condition, with a generous bound (a guard, not a timing) */
const until = (check: () => boolean, what: string): Promise<true> => eventually(async () => check(), what)
const numbers = (events: readonly RecordedEvent[]): number[] => events.map((e) => (e.data as { n: number }).n)

function world(t: Test) {
  const db = openDatabase(tempDataDir(t))
  const eventStore = new SqliteEventStore(db)
  t.teardown(async () => {
    await eventStore.close()
    db.close()
  })
  const stored = new Map<string, number>()
  const checkpoint = (name: string) => ({
    load: async () => stored.get(name),
    save: async (position: number) => void stored.set(name, position),
  })
  const follower = (options: Partial<LogFollowerOptions> & { handle: FollowerHandler }): LogFollower => {
    const f = new LogFollower({ name: 'test', eventStore, logger: silent, startAt: 'beginning', ...options })
    t.teardown(() => f.stop())
    return f
  }
  return { eventStore, stored, checkpoint, follower }
}

t.test('starts at the head without a checkpoint, stores it, and resumes after it', async (t) => {
  const { eventStore, stored, checkpoint, follower } = world(t)
  await eventStore.appendToStream('s', [event('Wanted', 1)], { expectedRevision: 'no_stream' })
  const handled: RecordedEvent[] = []
  const first = follower({ startAt: 'head', eventTypes: ['Wanted'], checkpoint: checkpoint('c'), handle: async (events) => void handled.push(...events) })
  await first.start()
  t.equal(stored.get('c'), 1, 'the head is stored at the first start')
  await eventStore.appendToStream('s', [event('Other', 2), event('Wanted', 3)], { expectedRevision: 0 })
  await until(() => handled.length === 1, 'handled.length === 1')
  t.strictSame(numbers(handled), [3], 'only what came after the head, of its types')
  await until(() => stored.get('c') === 3, 'the checkpoint at 3')
  t.match(first.status(), { name: 'test', state: 'running', position: 3, lastError: null })
  await first.stop()
  t.equal(first.status().state, 'stopped')

  await eventStore.appendToStream('s', [event('Wanted', 4)], { expectedRevision: 2 })
  const again: RecordedEvent[] = []
  const second = follower({ startAt: 'head', eventTypes: ['Wanted'], checkpoint: checkpoint('c'), handle: async (events) => void again.push(...events) })
  await second.start()
  await until(() => again.length === 1, 'again.length === 1')
  t.strictSame(numbers(again), [4], 'a restart resumes after its checkpoint: what came while it was down, nothing twice')
})

t.test('a failed batch is retried with a pause, resuming after the events it reported handled', async (t) => {
  const { eventStore, checkpoint, follower, stored } = world(t)
  const handled: number[] = []
  let failures = 2
  const f = follower({
    checkpoint: checkpoint('r'),
    retry: { firstDelayMs: 1, maxDelayMs: 4 },
    handle: async (events, _through, control) => {
      for (const e of events) {
        const n = (e.data as { n: number }).n
        if (n === 2 && failures-- > 0) throw new Error('the outside world is down')
        handled.push(n)
        await control.progress(e.position)
      }
    },
  })
  await f.start()
  await eventStore.appendToStream('s', [event('A', 1), event('A', 2), event('A', 3)], { expectedRevision: 'no_stream' })
  await until(() => handled.length === 3, 'handled.length === 3')
  t.strictSame(handled, [1, 2, 3], 'each event once, in order, the failed one after its retries')
  t.equal(stored.get('r'), 3, 'checkpointed up to the last')
  t.match(f.status(), { state: 'running', lastError: 'the outside world is down' }, 'still running; the failure is reported')
})

t.test('without a retry, a failed batch fails the follower; the registry reports it with its lag', async (t) => {
  const { eventStore, follower } = world(t)
  const registry = new FollowerRegistry(eventStore)
  const failures: unknown[] = []
  const healthy = follower({ name: 'healthy', handle: async () => {} })
  const broken = follower({
    name: 'broken',
    handle: async () => {
      throw new Error('disk full')
    },
    onFailure: (error) => failures.push(error),
  })
  registry.add(healthy)
  registry.add(broken)
  t.throws(() => registry.add(broken), /Two followers are named "broken"/, 'names are unique')
  await healthy.start()
  await broken.start()
  await eventStore.appendToStream('s', [event('A', 1), event('A', 2)], { expectedRevision: 'no_stream' })
  await until(() => broken.status().state === 'failed', 'the broken follower to fail')
  t.equal(failures.length, 1, 'told once')
  await until(() => healthy.position === 2, 'healthy.position === 2')
  const reports = await registry.reports()
  t.match(reports, [
    { name: 'healthy', state: 'running', position: 2, lag: 0, lastError: null },
    { name: 'broken', state: 'failed', position: null, lag: null, lastError: 'disk full' },
  ])
  await healthy.stop()
  await eventStore.appendToStream('s', [event('A', 3)], { expectedRevision: 1 })
  t.match((await registry.reports())[0], { state: 'stopped', lag: null }, 'a stopped follower has no lag')
})

t.test('stopping ends a retry pause at once', async (t) => {
  const backoff = new Backoff({ firstDelayMs: 60_000, maxDelayMs: 60_000 })
  let stopped = false
  let attempts = 0
  const retrying = backoff.retry(
    async () => {
      attempts++
      throw new Error('down')
    },
    () => stopped,
    () => {},
  )
  await until(() => attempts === 1, 'attempts === 1')
  stopped = true
  backoff.wakeAll()
  t.equal(await retrying, false, 'gave up without waiting out the pause')
  t.equal(attempts, 1)
})
