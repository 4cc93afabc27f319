/**
 * `npm run bench:history`: the reading history (GET /v1.1/things/{id}/data/{channel}) on
 * the embedded engine, over a year of minute readings of one channel (525,600 points)
 * beside three other channels of the same thing (2.1 million points in all).
 *
 *   write        points committed 1000 per transaction, as the history projector does
 *   count        the year's points of the channel
 *   raw day      one day of raw points (1440)
 *   raw 10000    the largest raw answer
 *   day buckets  a year in 365 calendar days of America/Los_Angeles, avg
 *   month        a year in 12 months, max
 *   hour buckets a month in 720 hours, avg
 *
 * Each query runs 5 times; the median is printed. Exits 0 whatever the figures.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteReadStore } from '../adapters/readstore/sqlite.ts'
import { openDatabase } from '../adapters/sqlite/database.ts'
import { historyOf, type HistoryPoint, type HistoryRequest } from '../projections/reading-history.ts'

const minute = 60_000
const year = 365 * 24 * 60
const channels = ['1', '2', '3', '4']
const thingId = '11111111-1111-4111-8111-111111111111'
const start = Date.parse('2026-01-01T08:00:00.000Z')

const dir = mkdtempSync(join(tmpdir(), 'capsicum-bench-history-'))
const db = openDatabase(dir)
const store = new SqliteReadStore(db).readingHistory()
await store.prepare()

let position = 0
const writeStarted = performance.now()
for (let m = 0; m < year; m += 250) {
  const points: HistoryPoint[] = []
  for (let i = m; i < Math.min(year, m + 250); i++) {
    for (const channel of channels) points.push({ thingId, channel, ts: start + i * minute, position: ++position, index: 0, value: 20 + Math.sin(i / 60) * 5 })
  }
  await store.commit(points, { position, version: 1 })
}
const writeSeconds = (performance.now() - writeStarted) / 1000
console.log(`write        ${position} points in ${writeSeconds.toFixed(1)} s (${Math.round(position / writeSeconds)} points/s)`)

async function median(label: string, run: () => Promise<number>): Promise<void> {
  const times: number[] = []
  let size = 0
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now()
    size = await run()
    times.push(performance.now() - t0)
  }
  times.sort((a, b) => a - b)
  console.log(`${label.padEnd(12)} ${times[2]!.toFixed(1).padStart(7)} ms  (${size} in the answer)`)
}

const yearRange = { thingId, channel: '1', from: start, to: start + year * minute }
const query = async (request: HistoryRequest): Promise<number> => (await historyOf(store, request)).length
await median('count', async () => store.count(yearRange))
await median('raw day', () => query({ ...yearRange, from: start + 100 * 1440 * minute, to: start + 101 * 1440 * minute }))
await median('raw 10000', () => query({ ...yearRange, to: start + 10_000 * minute }))
await median('day buckets', () => query({ ...yearRange, bucketing: { interval: 'day', fn: 'avg', timeZone: 'America/Los_Angeles' } }))
await median('month', () => query({ ...yearRange, bucketing: { interval: 'month', fn: 'max', timeZone: 'America/Los_Angeles' } }))
await median('hour buckets', () => query({ ...yearRange, to: start + 30 * 1440 * minute, bucketing: { interval: 'hour', fn: 'avg', timeZone: 'UTC' } }))
console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
db.close()
rmSync(dir, { recursive: true, force: true })
