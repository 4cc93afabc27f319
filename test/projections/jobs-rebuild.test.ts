/** The job read models, rebuilt from the log, equal the ones built as the events came. */
import t from 'tap'
import { within } from '../helpers/async.ts'
import { readModelSnapshot, rebuiltSnapshot } from '../helpers/rebuild.ts'
import { startTestServer } from '../helpers/server.ts'

const collections = ['jobs', 'job_runs']

t.test('rebuilding the job read models gives what was built incrementally', async (t) => {
  const clock = new Date('2026-03-07T09:00:00.000Z')
  const server = await startTestServer(t, { now: () => clock })
  const token = server.tokenFor('account-jobs')
  const create = async (config: Record<string, unknown>) =>
    (await server.api<{ _id: string }>('POST', '/v1.1/jobs', { token, body: { title: 'J', config } })).body._id
  const hourly = await create({ type: 'interval', interval: 1, unit: 'hour', start_date: '2026-03-07 23:16', tz: 'America/Los_Angeles' })
  const skipping = await create({ type: 'interval', interval: 1, unit: 'hour', start_date: '2026-03-07 23:16', tz: 'America/Los_Angeles', missed: 'skip' })
  const once = await create({ type: 'date', start_date: '2026-03-08 02:30', tz: 'America/Los_Angeles' })
  const paused = await create({ type: 'interval', interval: 1, unit: 'month', start_date: '2026-01-31 09:00', tz: 'America/Los_Angeles' })
  await server.api('PUT', `/v1.1/jobs/${paused}`, { token, body: { config: { type: 'interval', interval: 1, unit: 'month', start_date: '2026-01-31 09:00' }, active: false } })
  const deleted = await create({ type: 'date', start_date: '2026-04-01 09:00' })
  await server.api('DELETE', `/v1.1/jobs/${deleted}`, { token })

  // Past 03:30 PDT on 2026-03-08: catch-ups, a skip, a date job that ran.
  clock.setTime(Date.parse('2026-03-08T10:45:00.000Z'))
  await within(
    (async () => {
      for (;;) {
        const runs = await Promise.all([hourly, skipping, once].map(async (id) => (await server.api<unknown[]>('GET', `/v1.1/jobs/${id}/runs`, { token })).body.length))
        if (runs.every((n) => n === 1)) return
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    })(),
    'the scheduler to run the jobs',
    15_000,
  )

  const incremental = await readModelSnapshot(server.capsicum.readStore, collections)
  t.equal(incremental.jobs!.length, 4, 'the deleted job is gone')
  t.equal(incremental.job_runs!.length, 3)
  await server.close()

  t.strictSame(await rebuiltSnapshot(t, server.dataDir, collections), incremental)
})
