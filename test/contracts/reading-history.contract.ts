/**
 * The ReadingHistoryStore contract (projections/reading-history.ts): what every engine's
 * store of reading points must do. test/contracts/reading-history.test.ts runs it against
 * SQLite always and MongoDB when MONGODB_URL is set. An engine may aggregate as it likes,
 * but the answer must be what aggregateByScanning gives, for every function, on numbers,
 * several numbers and text mixed, over few points and over many.
 */
import type { Test } from 'tap'
import {
  aggregateByScanning,
  aggregateFunctions,
  type HistoryPoint,
  type ReadingHistoryStore,
  type ReadingValue,
} from '../../projections/reading-history.ts'

export interface OpenedHistoryStore {
  readonly store: ReadingHistoryStore
  /** closes this instance and opens the same storage again */
  reopen(): Promise<OpenedHistoryStore>
}

/** Opens the store on fresh, empty storage for one case; closes it in `t.teardown`. */
export type OpenHistoryStore = (t: Test) => Promise<OpenedHistoryStore>

const thingId = 'thing-1'
const minute = 60_000
const t0 = Date.parse('2026-01-01T00:00:00.000Z')

/** The point of an event that recorded one reading. */
const point = (position: number, ts: number, value: ReadingValue, channel = '1', thing = thingId): HistoryPoint => ({ thingId: thing, channel, ts, position, index: 0, value })
/** The point of the `index`th reading of an event that recorded several (SensorReadingsRecorded). */
const pointOfMany = (position: number, index: number, ts: number, value: ReadingValue, channel = '1'): HistoryPoint => ({ ...point(position, ts, value, channel), index })
/** (position, index) of each point, to compare identities and order. */
const ids = (points: readonly { position: number; index: number }[]): [number, number][] => points.map((p) => [p.position, p.index])

export function readingHistoryContract(t: Test, name: string, open: OpenHistoryStore): void {
  t.test(`${name}: ReadingHistoryStore contract`, async (t) => {
    t.test('points come back by time then position, in [from, to), paged after a point', async (t) => {
      const { store } = await open(t)
      await store.prepare()
      await store.commit(
        [point(3, t0 + minute, 2), point(1, t0, 1), point(2, t0 + minute, [1.5, -2]), point(4, t0 + 2 * minute, 'high'), point(5, t0, 9, '2'), point(6, t0, 8, '1', 'thing-2')],
        { position: 6, version: 1 },
      )
      const range = { thingId, channel: '1', from: t0, to: t0 + 3 * minute }
      t.strictSame(await store.points({ ...range, limit: 10 }), [
        { ts: t0, position: 1, index: 0, value: 1 },
        { ts: t0 + minute, position: 2, index: 0, value: [1.5, -2] },
        { ts: t0 + minute, position: 3, index: 0, value: 2 },
        { ts: t0 + 2 * minute, position: 4, index: 0, value: 'high' },
      ])
      t.equal(await store.count(range), 4)
      t.equal(await store.count({ ...range, to: t0 + 2 * minute }), 3, 'to is exclusive')
      t.strictSame((await store.points({ ...range, limit: 2, after: { ts: t0 + minute, position: 2, index: 0 } })).map((p) => p.position), [3, 4])
      t.strictSame(await store.points({ ...range, channel: '9', limit: 10 }), [], 'an unknown channel has none')
      t.equal(await store.count({ ...range, thingId: 'nobody' }), 0)
    })

    t.test('a point committed again is the same point; the checkpoint moves with the commit and survives a reopen', async (t) => {
      const opened = await open(t)
      await opened.store.prepare()
      t.equal(await opened.store.loadCheckpoint(), undefined)
      await opened.store.commit([point(1, t0, 1)], { position: 1, version: 1 })
      await opened.store.commit([point(1, t0, 1), point(2, t0 + 1, 2)], { position: 2, version: 1 })
      const again = await opened.reopen()
      await again.store.prepare()
      t.equal(await again.store.count({ thingId, channel: '1', from: t0, to: t0 + minute }), 2)
      t.strictSame(await again.store.loadCheckpoint(), { position: 2, version: 1 })
      await again.store.reset()
      t.equal(await again.store.loadCheckpoint(), undefined, 'reset drops the checkpoint')
      t.equal(await again.store.count({ thingId, channel: '1', from: t0, to: t0 + minute }), 0, 'and the points')
      await again.store.commit([point(1, t0, 5)], { position: 1, version: 1 })
      t.strictSame((await again.store.points({ thingId, channel: '1', from: t0, to: t0 + minute, limit: 5 })).map((p) => p.value), [5], 'after a reset points are written anew')
    })

    t.test('a correction replaces its point, in its channel or moved to another; a reading seen again does not undo it', async (t) => {
      const { store } = await open(t)
      await store.prepare()
      await store.commit([point(1, t0, 272), point(2, t0 + 1, 288), point(3, t0 + 2, 7)], { position: 3, version: 1 })
      await store.commit(
        [
          { ...point(1, t0, 27.2), replaces: { channel: '1' } },
          { ...point(3, t0 + 2, 0.7, '2'), replaces: { channel: '1' } },
        ],
        { position: 5, version: 1 },
      )
      await store.commit([point(1, t0, 272)], { position: 6, version: 1 })
      const range = { thingId, channel: '1', from: t0, to: t0 + minute, limit: 10 }
      t.strictSame(await store.points(range), [
        { ts: t0, position: 1, index: 0, value: 27.2 },
        { ts: t0 + 1, position: 2, index: 0, value: 288 },
      ])
      t.strictSame(await store.points({ ...range, channel: '2' }), [{ ts: t0 + 2, position: 3, index: 0, value: 0.7 }], 'moved to its new channel')
    })

    t.test('the readings of one event are as many points, by index, even on one channel at one time', async (t) => {
      const { store } = await open(t)
      await store.prepare()
      // Event 5 recorded four readings at t0, three of them on channel 1; events 4 and 6 one each at t0.
      const event5 = [pointOfMany(5, 2, t0, 52), pointOfMany(5, 0, t0, 50), pointOfMany(5, 3, t0, 53, '2'), pointOfMany(5, 1, t0, 51)]
      await store.commit([point(6, t0, 60), ...event5, point(4, t0, 40)], { position: 6, version: 1 })
      await store.commit(event5, { position: 6, version: 1 })
      const range = { thingId, channel: '1', from: t0, to: t0 + minute }
      t.strictSame(await store.points({ ...range, limit: 10 }), [
        { ts: t0, position: 4, index: 0, value: 40 },
        { ts: t0, position: 5, index: 0, value: 50 },
        { ts: t0, position: 5, index: 1, value: 51 },
        { ts: t0, position: 5, index: 2, value: 52 },
        { ts: t0, position: 6, index: 0, value: 60 },
      ], 'every one kept, by position then index; one committed again is the same point')
      t.equal(await store.count(range), 5)
      t.strictSame(await store.points({ ...range, channel: '2', limit: 10 }), [{ ts: t0, position: 5, index: 3, value: 53 }])
      t.strictSame(await store.aggregate(range, [t0, t0 + minute], 'first'), [40])
      t.strictSame(await store.aggregate(range, [t0, t0 + minute], 'last'), [60])
    })

    t.test('paging after a point goes on with the rest of its event, then the next ones', async (t) => {
      const { store } = await open(t)
      await store.prepare()
      await store.commit(
        [point(4, t0, 40), pointOfMany(5, 0, t0, 50), pointOfMany(5, 1, t0, 51), pointOfMany(5, 2, t0, 52), point(6, t0, 60), pointOfMany(7, 0, t0 + 1, 70), pointOfMany(7, 1, t0 + 1, 71)],
        { position: 7, version: 1 },
      )
      const range = { thingId, channel: '1', from: t0, to: t0 + minute }
      t.strictSame(ids(await store.points({ ...range, limit: 2, after: { ts: t0, position: 5, index: 0 } })), [[5, 1], [5, 2]])
      t.strictSame(ids(await store.points({ ...range, limit: 2, after: { ts: t0, position: 5, index: 2 } })), [[6, 0], [7, 0]])
      t.strictSame(ids(await store.points({ ...range, limit: 10, after: { ts: t0, position: 4, index: 0 } })), [[5, 0], [5, 1], [5, 2], [6, 0], [7, 0], [7, 1]])
      t.strictSame(ids(await store.points({ ...range, limit: 10, after: { ts: t0 + 1, position: 7, index: 0 } })), [[7, 1]])
      const pages: [number, number][] = []
      let after: { ts: number; position: number; index: number } | undefined
      for (;;) {
        const page = await store.points({ ...range, limit: 2, ...(after ? { after } : {}) })
        pages.push(...ids(page))
        if (page.length < 2) break
        after = page[page.length - 1]!
      }
      t.strictSame(pages, [[4, 0], [5, 0], [5, 1], [5, 2], [6, 0], [7, 0], [7, 1]], 'pages of two give every point once')
      t.strictSame(await aggregateByScanning(store, range, [t0, t0 + minute], 'count', 2), [7], 'so does scanning in pages')
    })

    t.test('a correction replaces only the point at its position and index', async (t) => {
      const { store } = await open(t)
      await store.prepare()
      await store.commit([pointOfMany(7, 0, t0, 272), pointOfMany(7, 1, t0, 288), pointOfMany(7, 2, t0, 7, '2')], { position: 7, version: 1 })
      await store.commit([{ ...pointOfMany(7, 1, t0, 28.8), replaces: { channel: '1' } }], { position: 8, version: 1 })
      const range = { thingId, channel: '1', from: t0, to: t0 + minute, limit: 10 }
      t.strictSame((await store.points(range)).map((p) => p.value), [272, 28.8], 'in its channel: its sibling keeps its value')
      await store.commit([{ ...pointOfMany(7, 0, t0, 27.2, '2'), replaces: { channel: '1' } }], { position: 9, version: 1 })
      t.strictSame(await store.points(range), [{ ts: t0, position: 7, index: 1, value: 28.8 }], 'moved: only it left its channel')
      t.strictSame(
        await store.points({ ...range, channel: '2' }),
        [
          { ts: t0, position: 7, index: 0, value: 27.2 },
          { ts: t0, position: 7, index: 2, value: 7 },
        ],
        'beside the reading of the same event already there',
      )
      await store.commit([pointOfMany(7, 1, t0, 288)], { position: 10, version: 1 })
      t.strictSame((await store.points(range)).map((p) => p.value), [28.8], 'a reading seen again does not undo it')
    })

    t.test('aggregates: every function, per component, empty buckets, few points and many', async (t) => {
      const { store } = await open(t)
      await store.prepare()
      // Channel 1 numbers only; channel 2 mixes numbers, pairs, a triple and text; 6000 minutes.
      const points: HistoryPoint[] = []
      let position = 0
      for (let i = 0; i < 6000; i++) {
        const ts = t0 + i * minute
        points.push(point(++position, ts, (i % 17) - 8 + i / 1000))
        const mixed: ReadingValue = i % 5 === 0 ? 'text' : i % 5 === 1 ? [i % 7, -(i % 3)] : i % 5 === 2 ? [1, 2, i % 11] : (i % 13) * 0.5
        points.push(point(++position, ts, mixed, '2'))
      }
      for (let i = 0; i < points.length; i += 1000) await store.commit(points.slice(i, i + 1000), { position: i, version: 1 })
      const hour = 60 * minute
      // 2 hours before the readings (empty), then 100 hours of readings, cut inside an hour at each end.
      const boundaries = Array.from({ length: 104 }, (_, i) => t0 + (i - 2) * hour)
      for (const channel of ['1', '2']) {
        for (const fn of aggregateFunctions) {
          for (const [label, from, to] of [
            ['many points', t0 - 2 * hour, t0 + 101 * hour],
            ['few points', t0 + 10 * minute, t0 + 40 * minute],
            ['cut ends', t0 + 90 * minute, t0 + 99 * hour + 30 * minute],
          ] as const) {
            const range = { thingId, channel, from, to }
            const expected = await aggregateByScanning(store, range, boundaries, fn, 777)
            const got = await store.aggregate(range, boundaries, fn)
            t.equal(got.length, boundaries.length - 1, `${channel} ${fn} ${label}: one value per bucket`)
            const close = got.every((value, i) => same(value, expected[i]))
            t.ok(close, `${channel} ${fn} ${label}: as aggregateByScanning`)
            if (!close) t.comment(JSON.stringify({ got: got.slice(0, 6), expected: expected.slice(0, 6) }))
          }
        }
      }
      const hourOf = (from: number, fn: (typeof aggregateFunctions)[number], channel = '1') =>
        store.aggregate({ thingId, channel, from, to: from + hour }, [from, from + hour], fn)
      t.strictSame(await hourOf(t0 - hour, 'count'), [0], 'count of an empty bucket is 0')
      t.strictSame(await hourOf(t0 - hour, 'avg'), [null], 'avg of an empty bucket is null')
      t.strictSame(await hourOf(t0, 'first'), [-8], 'first')
      t.strictSame(await hourOf(t0, 'last'), [(59 % 17) - 8 + 0.059], 'last')
      t.strictSame(await hourOf(t0, 'count', '2'), [60])
      const avg2 = (await hourOf(t0, 'avg', '2'))[0] as number[]
      t.equal(avg2.length, 3, 'several numbers: one value per component, as many as the longest reading')

      // Readings of five numbers, more than an engine may aggregate natively: still per component.
      const five = Array.from({ length: 2100 }, (_, i) => point(100_000 + i, t0 + i * minute, [i, 1, 2, 3, i % 4], '3'))
      await store.commit(five, { position: 102_100, version: 1 })
      const range = { thingId, channel: '3', from: t0, to: t0 + 36 * hour }
      const fiveBoundaries = Array.from({ length: 37 }, (_, i) => t0 + i * hour)
      for (const fn of ['avg', 'max'] as const) {
        t.strictSame(await store.aggregate(range, fiveBoundaries, fn), await aggregateByScanning(store, range, fiveBoundaries, fn), `five components, ${fn}`)
      }
      t.equal(((await store.aggregate(range, fiveBoundaries, 'avg'))[0] as number[]).length, 5)

      // Events of three readings of one channel at one time, enough for an engine's own aggregates: first and last by index too.
      const triples = Array.from({ length: 2100 }, (_, i) => [0, 1, 2].map((k) => pointOfMany(200_000 + i, k, t0 + i * minute, i * 10 + k, '4'))).flat()
      await store.commit(triples, { position: 202_100, version: 1 })
      const range4 = { ...range, channel: '4' }
      for (const fn of ['first', 'last', 'count', 'sum'] as const) {
        t.strictSame(await store.aggregate(range4, fiveBoundaries, fn), await aggregateByScanning(store, range4, fiveBoundaries, fn), `readings of one event, ${fn}`)
      }
      t.strictSame((await store.aggregate(range4, fiveBoundaries, 'first')).slice(0, 2), [0, 600], 'first: the first reading of the first event')
      t.strictSame((await store.aggregate(range4, fiveBoundaries, 'last')).slice(0, 2), [592, 1192], 'last: the last reading of the last event')
      t.strictSame((await store.aggregate(range4, fiveBoundaries, 'count')).slice(0, 2), [180, 180])
    })
  })
}

/** Equal, but floating sums may differ in the last bits between engines. */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b))
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]))
  return a === b
}
