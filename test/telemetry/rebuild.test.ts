/** The telemetry read models and the reading history, rebuilt from the log, equal the ones built as the events came. */
import t from 'tap'
import { openEmbeddedStores } from '../../adapters/capsicum.ts'
import { loadConfig } from '../../adapters/config.ts'
import { allProjections } from '../../projections/index.ts'
import { ReadingHistoryProjector, type ReadingHistoryStore } from '../../projections/reading-history.ts'
import { ProjectionRunner } from '../../projections/runner.ts'
import { deviceAccount } from '../helpers/mqtt.ts'
import { readModelSnapshot } from '../helpers/rebuild.ts'
import { startTestServer } from '../helpers/server.ts'
import { feed, readingsOf, reading } from './fixtures.ts'

const collections = ['things', 'thing_readings', 'thing_commands']
const silent = { info: () => {}, warn: () => {}, error: () => {} }

async function historySnapshot(store: ReadingHistoryStore, series: readonly [string, string][]) {
  const all = { from: 0, to: Date.parse('2100-01-01T00:00:00Z'), limit: 100_000 }
  return Promise.all(series.map(async ([thingId, channel]) => ({ thingId, channel, points: await store.points({ thingId, channel, ...all }) })))
}

t.test('rebuilding gives what was built incrementally', async (t) => {
  const server = await startTestServer(t)
  const account = await deviceAccount(server, { things: 2 })
  const [a, b] = account.thingIds.map((thingId) => ({ thingId, accountId: account.accountId }))
  await server.api('POST', `/v1.1/things/${a!.thingId}/cmd`, { token: account.token, body: { value: 1, channel: 3 } })
  const at = (minute: number) => new Date(Date.parse('2026-05-01T10:00:00.000Z') + minute * 60_000)
  await feed(server, [
    { kind: 'connected', username: account.username, ...a!, receivedAt: at(0).toISOString() },
    { kind: 'sys', key: 'model', value: 'Linux', ...a!, receivedAt: at(0).toISOString() },
    ...Array.from({ length: 30 }, (_, i) => readingsOf(i % 3 === 0 ? b! : a!, at(i), [reading('1', i), reading('2', [i, -i], 'accel', 'g'), reading('x', `t${i}`, null, null)])),
    { kind: 'response', seq: '1', ok: false, message: 'Bad param', ...a!, receivedAt: at(31).toISOString() },
    { kind: 'disconnected', username: account.username, ...a!, receivedAt: at(32).toISOString() },
  ])
  const series: [string, string][] = [a!, b!].flatMap((d) => ['1', '2', 'x'].map((channel): [string, string] => [d.thingId, channel]))

  const incremental = await readModelSnapshot(server.capsicum.readStore, collections)
  const incrementalHistory = await historySnapshot(server.capsicum.readStore.readingHistory(), series)
  t.equal((incremental.thing_readings as unknown[]).length, 2, 'one document for each of the two things')
  t.equal(incrementalHistory.reduce((n, s) => n + s.points.length, 0), 90, 'every reading is a point')
  await server.close()

  const stores = openEmbeddedStores(loadConfig({ DATA_DIR: server.dataDir, LOG_LEVEL: 'silent' }))
  t.teardown(() => stores.close())
  await new ProjectionRunner({ eventStore: stores.eventStore, readStore: stores.readStore, projections: allProjections, logger: silent }).rebuild()
  const history = stores.readStore.readingHistory()
  await new ReadingHistoryProjector({ eventStore: stores.eventStore, store: history, logger: silent, batchSize: 7 }).rebuild()

  t.strictSame(await readModelSnapshot(stores.readStore, collections), incremental)
  t.strictSame(await historySnapshot(history, series), incrementalHistory)
})
