import t from 'tap'
import type { Test } from 'tap'
import { randomUUID } from 'node:crypto'
import { SqliteEventStore } from '../../adapters/eventstore/sqlite.ts'
import { SqliteReadStore } from '../../adapters/readstore/sqlite.ts'
import { openDatabase, type SqliteDatabase } from '../../adapters/sqlite/database.ts'
import type { EventToAppend } from '../../domain/ports/event-store.ts'
import type { DomainEvent } from '../../domain/decider.ts'
import { allProjections } from '../../projections/index.ts'
import { asAnyProjection, projection, type AnyProjection } from '../../projections/projection.ts'
import { ProjectionRunner } from '../../projections/runner.ts'
import { registerThingType } from '../../commands/thing-type/register-thing-type.ts'
import { updateThingType } from '../../commands/thing-type/update-thing-type.ts'
import { tempDataDir } from '../helpers/server.ts'

type Counted = DomainEvent<'Counted', { counter: string; by: number }>
type Ignored = DomainEvent<'Ignored', Record<string, never>>

const silent = { info: () => {}, warn: () => {}, error: () => {} }
const metadata = {
  actor: { type: 'system', id: 'test' },
  account_id: null,
  client_id: null,
  correlation_id: 'c',
  causation_id: 'c',
  time: '2026-01-01T00:00:00.000Z',
} as const

const counted = (counter: string, by = 1): EventToAppend => ({ id: randomUUID(), type: 'Counted', data: { counter, by }, metadata })

/** Counts how often it saw each counter's events: a double application shows at once. */
const counters = (version: number, field: 'total' | 'doubled' = 'total') =>
  asAnyProjection(
    projection<Counted, { id: string; total?: number; doubled?: number; applied: number }>({
      name: 'counters',
      version,
      collection: 'counters',
      indexes: [],
      canHandle: ['Counted'],
      documentId: (event) => event.data.counter,
      evolve: (doc, event) => {
        const by = field === 'total' ? event.data.by : event.data.by * 2
        return { id: event.data.counter, [field]: ((doc?.[field] as number | undefined) ?? 0) + by, applied: (doc?.applied ?? 0) + 1 }
      },
    }),
  )

function openStores(t: Test, dataDir: string) {
  const db: SqliteDatabase = openDatabase(dataDir)
  const eventStore = new SqliteEventStore(db, 50)
  const readStore = new SqliteReadStore(db)
  t.teardown(() => db.open && db.close())
  return { db, eventStore, readStore }
}

async function startRunner(t: Test, stores: ReturnType<typeof openStores>, projections: AnyProjection[]) {
  const runner = new ProjectionRunner({ ...stores, projections, logger: silent })
  await runner.start()
  t.teardown(() => runner.stop())
  return runner
}

t.test('catches up from its checkpoint after a restart, applying each event once', async (t) => {
  const dataDir = tempDataDir(t)
  const stores = openStores(t, dataDir)
  const first = await startRunner(t, stores, [counters(1)])
  const a = await stores.eventStore.appendToStream('c-a', [counted('a'), counted('a')], { expectedRevision: 'no_stream' })
  t.ok(await first.waitFor(a.position, 5000))
  await first.stop()

  const b = await stores.eventStore.appendToStream('c-a', [counted('a', 5)], { expectedRevision: 1 })
  await stores.eventStore.appendToStream('other', [{ id: randomUUID(), type: 'Ignored', data: {}, metadata } satisfies EventToAppend<Ignored>], {
    expectedRevision: 'any',
  })
  const head = (await stores.eventStore.headPosition())!
  const second = await startRunner(t, stores, [counters(1)])
  t.ok(await second.waitFor(head, 5000), 'reaches the head, including events no projection handles')
  t.ok(head > b.position)
  const doc = await stores.readStore.collection('counters').get('a')
  t.match(doc, { total: 7, applied: 3 }, 'events before the restart were not applied again')
  t.match(await stores.readStore.loadCheckpoint('counters'), { position: head, version: 1 })
})

t.test('a version bump rebuilds that read model from the start', async (t) => {
  const stores = openStores(t, tempDataDir(t))
  const v1 = await startRunner(t, stores, [counters(1, 'total')])
  const appended = await stores.eventStore.appendToStream('c-b', [counted('b', 2), counted('b', 3)], { expectedRevision: 'no_stream' })
  await v1.waitFor(appended.position, 5000)
  await v1.stop()
  t.match(await stores.readStore.collection('counters').get('b'), { total: 5 })

  const v2 = await startRunner(t, stores, [counters(2, 'doubled')])
  await v2.waitFor(appended.position, 5000)
  const doc = await stores.readStore.collection('counters').get('b')
  t.strictSame(doc, { id: 'b', doubled: 10, applied: 2 }, 'the old document is gone and the new one built from every event')
})

t.test('waitFor answers false after its timeout and true once applied', async (t) => {
  const stores = openStores(t, tempDataDir(t))
  const runner = await startRunner(t, stores, [counters(1)])
  t.equal(await runner.waitFor(1_000_000, 10), false)
  const appended = await stores.eventStore.appendToStream('c-c', [counted('c')], { expectedRevision: 'any' })
  t.equal(await runner.waitFor(appended.position, 5000), true)
  t.equal(await runner.waitFor(appended.position, 0), true, 'an already reached position answers at once')
})

t.test('a projection that throws stops the runner and marks it failed', async (t) => {
  const stores = openStores(t, tempDataDir(t))
  const broken = asAnyProjection(
    projection<Counted, { id: string }>({
      name: 'broken',
      version: 1,
      collection: 'broken',
      indexes: [],
      canHandle: ['Counted'],
      documentId: () => 'x',
      evolve: () => {
        throw new Error('bug in evolve')
      },
    }),
  )
  const runner = await startRunner(t, stores, [broken])
  await stores.eventStore.appendToStream('c-d', [counted('d')], { expectedRevision: 'any' })
  await new Promise<void>((resolve) => {
    const check = (): void => (runner.status === 'failed' ? resolve() : void setTimeout(check, 5))
    check()
  })
  t.equal(runner.status, 'failed')
  t.match(runner.error, { message: 'bug in evolve' })
  t.equal(await stores.readStore.loadCheckpoint('broken'), undefined, 'no checkpoint moved past the failing event')
})

t.test('rebuilt read models equal the incrementally built ones', async (t) => {
  const stores = openStores(t, tempDataDir(t))
  const runner = await startRunner(t, stores, [...allProjections])
  let clock = Date.parse('2026-02-01T00:00:00.000Z')
  const context = (account: string) => ({
    eventStore: stores.eventStore,
    now: () => new Date((clock += 1000)),
    newId: randomUUID,
    metadata: { actor: { type: 'user' as const, id: `u-${account}` }, account_id: account, client_id: null, correlation_id: 'r', causation_id: 'r' },
  })
  const categories = ['sensor', 'actuator', 'computer', 'module', null] as const
  const ids: string[] = []
  for (let i = 0; i < 150; i++) {
    const account = `acct-${i % 3}`
    const id = randomUUID()
    ids.push(id)
    await registerThingType(
      {
        name: `type ${i}`,
        description: `d ${i}`,
        transport_protocol: 'mqtt',
        category: categories[i % categories.length],
        model: i % 2 ? `m${i}` : null,
      },
      account,
      id,
      context(account),
    )
    if (i % 4 === 0) {
      await updateThingType({ description: `changed ${i}`, category: categories[(i + 1) % categories.length] }, account, id, context(account))
    }
  }
  const head = (await stores.eventStore.headPosition())!
  t.ok(await runner.waitFor(head, 10000))
  await runner.stop()
  const dump = () => stores.db.prepare('SELECT id, doc FROM rm_thing_types ORDER BY id').all()
  const incremental = dump()
  t.equal(incremental.length, 150)

  const rebuilder = new ProjectionRunner({ ...stores, projections: allProjections, logger: silent })
  let progressCalls = 0
  const applied = await rebuilder.rebuild(() => progressCalls++)
  t.ok(applied >= 150 + 150 / 4, `rebuild applied ${applied} events`)
  t.ok(progressCalls > 0, 'rebuild reports progress')
  t.strictSame(dump(), incremental)
})
