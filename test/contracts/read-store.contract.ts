/**
 * The ReadStore contract: the behaviour every adapter of the port (domain/ports/read-store.ts)
 * must show. test/contracts/sqlite.test.ts runs it against the embedded adapter; a
 * scale-out adapter runs the same suite when its URL is set.
 *
 * Each case opens the adapter on storage of its own, empty at the start, and may reopen
 * that same storage. What an engine cannot promise is a capability passed to the suite:
 * `atomicCommit` (a commit is all or nothing) holds for SQLite, not for MongoDB.
 */
import type { Test } from 'tap'
import type { Checkpoint, Document, ReadStore } from '../../domain/ports/read-store.ts'

export interface OpenedReadStore {
  readonly store: ReadStore
  /** calls the store’s close(), then closes whatever was opened for it; closing twice is harmless */
  close(): Promise<void>
  /** closes this instance, then opens the same storage again */
  reopen(): Promise<OpenedReadStore>
}

/** Opens the adapter on fresh, empty storage for one case; closes it in `t.teardown`. */
export type OpenReadStore = (t: Test) => Promise<OpenedReadStore>

export interface ReadStoreCapabilities {
  /** a commit that fails part-way leaves no document and no checkpoint changed */
  readonly atomicCommit: boolean
}

interface ThingDoc extends Document {
  readonly name: string
  readonly account_id: string
  readonly owner_id?: string | null
  readonly active: boolean
  readonly sensors: number
  readonly details?: unknown
}

const things = { name: 'things', indexes: ['name', 'account_id', 'owner_id', 'active', 'sensors'] } as const
const rules = { name: 'rules', indexes: ['thing_id'] } as const

/** Five things with distinct names and sensor counts; `t5` has no owner_id at all. */
const fleet: readonly ThingDoc[] = [
  { id: 't1', name: 'delta', account_id: 'a1', owner_id: 'u1', active: true, sensors: 3 },
  { id: 't2', name: 'alpha', account_id: 'a1', owner_id: null, active: false, sensors: 0 },
  { id: 't3', name: 'echo', account_id: 'a2', owner_id: 'u2', active: true, sensors: 12 },
  { id: 't4', name: 'bravo', account_id: 'a3', owner_id: null, active: true, sensors: 3.5 },
  { id: 't5', name: 'charlie', account_id: 'a2', active: false, sensors: -1 },
]

const upsert = (collection: string, doc: Document, position = 1) => ({ collection, id: doc.id, doc, position })
const remove = (collection: string, id: string, position = 1) => ({ collection, id, doc: null, position })
const none: ReadonlyMap<string, Checkpoint> = new Map()
const ids = (docs: readonly Document[]): string[] => docs.map((d) => d.id)
const sorted = (docs: readonly Document[]): string[] => ids(docs).sort()

async function withFleet(store: ReadStore): Promise<void> {
  await store.ensureCollection(things)
  await store.commit(
    fleet.map((doc, i) => upsert(things.name, doc, i + 1)),
    none,
  )
}

export function readStoreContract(t: Test, name: string, open: OpenReadStore, capabilities: ReadStoreCapabilities): void {
  t.test(`${name}: ReadStore contract`, async (t) => {
    t.test('commit upserts documents that get returns exactly', async (t) => {
      const { store } = await open(t)
      await store.ensureCollection(things)
      const doc: ThingDoc = {
        id: 'thing-1',
        name: 'Thermomètre ✓ "quoted" \\ 🌶',
        account_id: 'a1',
        owner_id: null,
        active: true,
        sensors: 2.25,
        details: { nested: { list: [1, 'two', false, null, { three: 3 }] }, empty: {}, none: [] },
      }
      await store.commit([upsert(things.name, doc)], none)
      const things1 = store.collection<ThingDoc>(things.name)
      t.strictSame(await things1.get('thing-1'), doc, 'the document round-trips exactly')
      t.equal(await things1.get('thing-2'), undefined, 'a missing id is undefined')

      const replaced: ThingDoc = { id: 'thing-1', name: 'renamed', account_id: 'a1', active: false, sensors: 0 }
      await store.commit([upsert(things.name, replaced, 2)], none)
      t.strictSame(await things1.get('thing-1'), replaced, 'a second upsert replaces the whole document')
      t.equal(await things1.count({}), 1, 'and adds no second document')
    })

    t.test('commit deletes documents', async (t) => {
      const { store } = await open(t)
      await withFleet(store)
      await store.commit([remove(things.name, 't2', 10), remove(things.name, 'never-there', 11)], none)
      const col = store.collection<ThingDoc>(things.name)
      t.equal(await col.get('t2'), undefined, 'the deleted document is gone')
      t.equal(await col.count({}), 4, 'deleting a missing id changes nothing else')
    })

    t.test('one commit applies its changes in order', async (t) => {
      const { store } = await open(t)
      await store.ensureCollection(things)
      const first: ThingDoc = { id: 'x', name: 'first', account_id: 'a1', active: true, sensors: 1 }
      const second: ThingDoc = { ...first, name: 'second' }
      const kept: ThingDoc = { ...first, id: 'y', name: 'kept' }
      await store.commit(
        [upsert(things.name, first, 1), upsert(things.name, kept, 1), upsert(things.name, second, 2), remove(things.name, 'y', 3)],
        none,
      )
      const col = store.collection<ThingDoc>(things.name)
      t.strictSame(await col.get('x'), second, 'the later upsert wins')
      t.equal(await col.get('y'), undefined, 'a delete after an upsert deletes')
    })

    t.test('collections are separate', async (t) => {
      const { store } = await open(t)
      await withFleet(store)
      await store.ensureCollection(rules)
      await store.commit([upsert(rules.name, { id: 't1', thing_id: 't3' })], none)
      t.strictSame(await store.collection(rules.name).get('t1'), { id: 't1', thing_id: 't3' })
      t.strictSame(await store.collection(things.name).get('t1'), fleet[0], 'the same id in another collection is untouched')
      t.equal(await store.collection(rules.name).count({}), 1)
    })

    t.test('ensureCollection may be called again without losing documents', async (t) => {
      const { store } = await open(t)
      await withFleet(store)
      await store.ensureCollection(things)
      t.equal(await store.collection(things.name).count({}), fleet.length)
    })

    t.test('find by equality on strings, booleans and numbers', async (t) => {
      const { store } = await open(t)
      await withFleet(store)
      const col = store.collection<ThingDoc>(things.name)
      t.strictSame(sorted(await col.find({ account_id: 'a1' })), ['t1', 't2'], 'a string')
      t.strictSame(sorted(await col.find({ active: true })), ['t1', 't3', 't4'], 'true')
      t.strictSame(sorted(await col.find({ active: false })), ['t2', 't5'], 'false')
      t.strictSame(sorted(await col.find({ sensors: 3 })), ['t1'], 'a whole number')
      t.strictSame(sorted(await col.find({ sensors: 3.5 })), ['t4'], 'a fraction')
      t.strictSame(sorted(await col.find({ sensors: 0 })), ['t2'], 'zero')
      t.strictSame(sorted(await col.find({ sensors: '3' })), [], 'a string does not equal a number')
      t.strictSame(sorted(await col.find({ account_id: 'a2', active: false })), ['t5'], 'several fields: all must hold')
      t.strictSame(sorted(await col.find({})), ['t1', 't2', 't3', 't4', 't5'], 'an empty filter finds everything')
      t.strictSame(await col.find({ account_id: 'nobody' }), [], 'no match is an empty array')
      t.strictSame(
        (await col.find({ account_id: 'a1' })).sort((a, b) => a.id.localeCompare(b.id)),
        [fleet[0], fleet[1]],
        'find returns whole documents',
      )
    })

    t.test('find by null matches null and missing fields', async (t) => {
      const { store } = await open(t)
      await withFleet(store)
      const col = store.collection<ThingDoc>(things.name)
      t.strictSame(sorted(await col.find({ owner_id: null })), ['t2', 't4', 't5'])
      t.strictSame(sorted(await col.find({ owner_id: null, account_id: 'a1' })), ['t2'])
      t.equal(await col.count({ owner_id: null }), 3)
    })

    t.test('find by an array means any of its values', async (t) => {
      const { store } = await open(t)
      await withFleet(store)
      const col = store.collection<ThingDoc>(things.name)
      t.strictSame(sorted(await col.find({ account_id: ['a1', 'a3'] })), ['t1', 't2', 't4'], 'strings')
      t.strictSame(sorted(await col.find({ sensors: [0, 12, 99] })), ['t2', 't3'], 'numbers')
      t.strictSame(sorted(await col.find({ active: [false] })), ['t2', 't5'], 'booleans')
      t.strictSame(sorted(await col.find({ account_id: ['a2'], active: [true, false] })), ['t3', 't5'], 'combined with AND')
      t.strictSame(sorted(await col.find({ owner_id: [null, 'u1'] })), ['t1', 't2', 't4', 't5'], 'null among the values')
      t.strictSame(await col.find({ account_id: [] }), [], 'an empty array matches nothing')
      t.equal(await col.count({ account_id: [] }), 0, 'and counts nothing')
      t.strictSame(await col.find({ active: true, account_id: [] }), [], 'even beside other fields')
    })

    t.test('find orders, limits and skips', async (t) => {
      const { store } = await open(t)
      await withFleet(store)
      const col = store.collection<ThingDoc>(things.name)
      t.strictSame(ids(await col.find({}, { orderBy: 'name' })), ['t2', 't4', 't5', 't1', 't3'], 'by a string, ascending')
      t.strictSame(
        ids(await col.find({}, { orderBy: 'name', descending: true })),
        ['t3', 't1', 't5', 't4', 't2'],
        'by a string, descending',
      )
      t.strictSame(ids(await col.find({}, { orderBy: 'sensors' })), ['t5', 't2', 't1', 't4', 't3'], 'by a number, ascending')
      t.strictSame(
        ids(await col.find({}, { orderBy: 'sensors', descending: true })),
        ['t3', 't4', 't1', 't2', 't5'],
        'by a number, descending',
      )
      t.strictSame(ids(await col.find({}, { orderBy: 'name', limit: 2 })), ['t2', 't4'], 'limit')
      t.strictSame(ids(await col.find({}, { orderBy: 'name', offset: 3 })), ['t1', 't3'], 'offset')
      t.strictSame(ids(await col.find({}, { orderBy: 'name', limit: 2, offset: 1 })), ['t4', 't5'], 'limit and offset')
      t.strictSame(await col.find({}, { orderBy: 'name', offset: 5 }), [], 'an offset past the end')
      t.strictSame(
        ids(await col.find({ active: true }, { orderBy: 'sensors', descending: true, limit: 2 })),
        ['t3', 't4'],
        'filtered, ordered and limited',
      )
      t.equal((await col.find({}, { limit: 3 })).length, 3, 'limit without an order')
    })

    t.test('count counts what find finds', async (t) => {
      const { store } = await open(t)
      await store.ensureCollection(things)
      const col = store.collection<ThingDoc>(things.name)
      t.equal(await col.count({}), 0, 'an empty collection')
      await withFleet(store)
      t.equal(await col.count({}), 5)
      t.equal(await col.count({ account_id: 'a2' }), 2)
      t.equal(await col.count({ active: true, sensors: [3, 3.5] }), 2)
      t.equal(await col.count({ account_id: 'nobody' }), 0)
    })

    t.test('commit stores checkpoints', async (t) => {
      const { store } = await open(t)
      await store.ensureCollection(things)
      t.equal(await store.loadCheckpoint('things'), undefined, 'never stored: undefined')

      await store.commit([upsert(things.name, fleet[0]!, 7)], new Map([['things', { position: 7, version: 2 }]]))
      t.strictSame(await store.loadCheckpoint('things'), { position: 7, version: 2 })

      await store.commit([], new Map([['things', { position: 9, version: 2 }], ['reactor', { position: null, version: 1 }]]))
      t.strictSame(await store.loadCheckpoint('things'), { position: 9, version: 2 }, 'a later commit moves it')
      t.strictSame(await store.loadCheckpoint('reactor'), { position: null, version: 1 }, 'a null position is kept as null')

      await store.commit([upsert(things.name, fleet[1]!, 12)], none)
      t.strictSame(await store.loadCheckpoint('things'), { position: 9, version: 2 }, 'a commit without it leaves it alone')
      t.equal(await store.loadCheckpoint('other'), undefined)
    })

    t.test('reset empties one collection and removes one checkpoint', async (t) => {
      const { store } = await open(t)
      await withFleet(store)
      await store.ensureCollection(rules)
      await store.commit(
        [upsert(rules.name, { id: 'r1', thing_id: 't1' })],
        new Map([['things', { position: 5, version: 1 }], ['rules', { position: 6, version: 3 }]]),
      )

      await store.reset(things.name, 'things')
      t.equal(await store.collection(things.name).count({}), 0, 'the collection is empty')
      t.equal(await store.collection(things.name).get('t1'), undefined)
      t.equal(await store.loadCheckpoint('things'), undefined, 'its checkpoint is gone')
      t.strictSame(await store.loadCheckpoint('rules'), { position: 6, version: 3 }, 'other checkpoints stay')
      t.equal(await store.collection(rules.name).count({}), 1, 'other collections stay')

      await store.commit([upsert(things.name, fleet[2]!)], new Map([['things', { position: 1, version: 2 }]]))
      t.strictSame(ids(await store.collection(things.name).find({})), ['t3'], 'the collection takes documents again')
      t.strictSame(await store.loadCheckpoint('things'), { position: 1, version: 2 })
    })

    if (capabilities.atomicCommit) {
      t.test('a commit that fails part-way changes nothing', async (t) => {
        const { store } = await open(t)
        await withFleet(store)
        await store.commit([], new Map([['things', { position: 5, version: 1 }]]))
        const before = await store.collection<ThingDoc>(things.name).find({}, { orderBy: 'name' })

        const changed: ThingDoc = { ...fleet[0]!, name: 'changed' }
        await t.rejects(
          store.commit(
            [
              upsert(things.name, changed, 6),
              remove(things.name, 't2', 6),
              upsert(things.name, { ...fleet[0]!, id: 't9' }, 6),
              upsert('undeclared', { id: 'u1' }, 6),
            ],
            new Map([['things', { position: 6, version: 1 }], ['fresh', { position: 6, version: 1 }]]),
          ),
          'a change to an undeclared collection fails the commit',
        )
        const col = store.collection<ThingDoc>(things.name)
        t.strictSame(await col.find({}, { orderBy: 'name' }), before, 'no document changed')
        t.equal(await col.get('t9'), undefined, 'no document was added')
        t.strictSame(await store.loadCheckpoint('things'), { position: 5, version: 1 }, 'the checkpoint did not move')
        t.equal(await store.loadCheckpoint('fresh'), undefined, 'no checkpoint was added')
      })
    }

    t.test('documents and checkpoints survive a reopen', async (t) => {
      const opened = await open(t)
      await withFleet(opened.store)
      await opened.store.commit([remove(things.name, 't5', 6)], new Map([['things', { position: 6, version: 4 }]]))

      const { store } = await opened.reopen()
      await store.ensureCollection(things)
      const col = store.collection<ThingDoc>(things.name)
      t.strictSame(await col.find({}, { orderBy: 'name' }), [fleet[1], fleet[3], fleet[0], fleet[2]])
      t.strictSame(sorted(await col.find({ owner_id: null })), ['t2', 't4'], 'and can still be found')
      t.strictSame(await store.loadCheckpoint('things'), { position: 6, version: 4 })
    })

    t.test('ping resolves on an open store', async (t) => {
      const { store } = await open(t)
      await t.resolves(store.ping())
    })
  })
}
