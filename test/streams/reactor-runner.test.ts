/**
 * The reactor runner: side effects at least once, each event's id handed on as the
 * idempotency key, a checkpoint of their own, and never for the history that was there
 * before the reactor first started (a replay or a rebuild sends nothing).
 */
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { SqliteEventStore } from '../../adapters/eventstore/sqlite.ts'
import { SqliteReadStore } from '../../adapters/readstore/sqlite.ts'
import { openDatabase } from '../../adapters/sqlite/database.ts'
import type { EventToAppend, RecordedEvent } from '../../domain/ports/event-store.ts'
import { ReactorRunner, type Reactor, type ReactorCheckpoints } from '../../streams/reactors/reactor-runner.ts'
import { tempDataDir } from '../helpers/server.ts'

const silent = { info: () => {}, warn: () => {}, error: () => {} }
const metadata = { actor: { type: 'system', id: 't' }, account_id: null, client_id: null, correlation_id: 'c', causation_id: 'c', time: '2026-01-01T00:00:00.000Z' } as const
const event = (type: string, n: number): EventToAppend => ({ id: randomUUID(), type, data: { n }, metadata })

/** A reactor that records what it handled and can be told to fail a number of times. */
function recorder(failures = 0) {
  const handled: RecordedEvent[] = []
  const waiters: { count: number; resolve: () => void }[] = []
  let toFail = failures
  const r: Reactor = {
    name: 'recorder',
    canHandle: ['Wanted'],
    async handle(e) {
      if (toFail > 0) {
        toFail--
        throw new Error('the outside world is down')
      }
      handled.push(e)
      for (const w of waiters.filter((w) => handled.length >= w.count)) w.resolve()
    },
  }
  const reached = (count: number) => (handled.length >= count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ count, resolve })))
  return { reactor: r, handled, reached }
}

t.test('the reactor runner', async (t) => {
  const db = openDatabase(tempDataDir(t))
  const eventStore = new SqliteEventStore(db)
  const readStore = new SqliteReadStore(db)
  t.teardown(async () => {
    await eventStore.close()
    await readStore.close()
    db.close()
  })
  const checkpoints: ReactorCheckpoints = {
    load: async (name) => (await readStore.loadCheckpoint(name))?.position,
    save: (name, position) => readStore.commit([], new Map([[name, { position, version: 1 }]])),
  }

  // History from before the reactor existed.
  await eventStore.appendToStream('s-1', [event('Wanted', 1), event('Wanted', 2)], { expectedRevision: 'no_stream' })

  const first = recorder()
  const runner = new ReactorRunner({ eventStore, checkpoints, reactors: [first.reactor], logger: silent, retryDelayMs: 1 })
  await runner.start()
  await eventStore.appendToStream('s-1', [event('Ignored', 3), event('Wanted', 4)], { expectedRevision: 1 })
  await first.reached(1)
  t.strictSame(first.handled.map((e) => (e.data as { n: number }).n), [4], 'history before the first start is not acted on; new events are')
  t.match(first.handled[0], { id: String, type: 'Wanted' }, 'the handler gets the event and its id (the idempotency key)')
  await runner.stop()

  await t.test('a restart resumes after its checkpoint: nothing twice', async (t) => {
    await eventStore.appendToStream('s-2', [event('Wanted', 5)], { expectedRevision: 'no_stream' })
    const second = recorder()
    const again = new ReactorRunner({ eventStore, checkpoints, reactors: [second.reactor], logger: silent, retryDelayMs: 1 })
    await again.start()
    await second.reached(1)
    await eventStore.appendToStream('s-2', [event('Wanted', 6)], { expectedRevision: 0 })
    await second.reached(2)
    t.strictSame(second.handled.map((e) => (e.data as { n: number }).n), [5, 6], 'the event written while it was down, then the new one')
    await again.stop()
  })

  await t.test('a failing side effect is retried until it succeeds, before anything later', async (t) => {
    const flaky = recorder(3)
    const retrying = new ReactorRunner({ eventStore, checkpoints, reactors: [flaky.reactor], logger: silent, retryDelayMs: 1 })
    await retrying.start()
    await eventStore.appendToStream('s-3', [event('Wanted', 7), event('Wanted', 8)], { expectedRevision: 'no_stream' })
    await flaky.reached(2)
    t.strictSame(flaky.handled.map((e) => (e.data as { n: number }).n), [7, 8], 'in order, each once it worked')
    await retrying.stop()
  })
})
