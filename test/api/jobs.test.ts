/** The job endpoints over real HTTP, and the server's own scheduler running them. */
import t from 'tap'
import { createThing } from '../../commands/thing/create-thing.ts'
import { within } from '../helpers/async.ts'
import { startTestServer, type TestServer } from '../helpers/server.ts'

interface Job {
  _id: string
  created_at: string
  updated_at: string
  title: string
  account_id: string
  next_runtime: string | null
  __v: number
  config: Record<string, unknown>
  notifications: { _id: string; method: string; value: string }[]
  http_push: { _id: string; url: string; method: string; headers: Record<string, string>; payload: unknown }[]
  actions: { _id: string; thing_id: string; sensor_id: string | null; unit: string | null; value: unknown; channel: string }[]
  active: boolean
}

interface Run {
  id: string
  occurrence: string
  status: string
  reason: string
  fired_at: string | null
  recorded_at: string
  missed_since: string | null
  outcomes: { delivery_id: string; effect: string; channel: string; target: string; status: string; attempts: number; reason: string | null }[]
}

interface ErrorBody {
  error: string
  message: string
  details: { field: string; problem: string }[]
}

const exampleThingId = '12345678-0000-0000-0000-000000000000'

/**
 * The API text's "Create a Job" request, with straight quotes, the missing quote after
 * "3101234567" added, and the trailing comma after `actions` (not JSON) removed.
 */
const example = `{
	"title": "My Event",

	"config": {
		"interval": 1,
		"start_date": "2017-04-28 04:16",
		"tz": "America/Los_Angeles",
		"type": "interval",
		"unit": "hour"
	},
	"notifications": [
		{
			"method": "email",
			"value": "event@event.com" 
		},
		{
			"method": "sms",
			"value": "3101234567"
		}
	],
	"http_push": [
		{ 
			"url": "http://random.api.com/job",
			"method": "POST",
			"headers": {
				"Content-Type": "application/json"
			},
			"payload": {
				"variable": 1,
				"sample": 2
			}
		}
	],
	"actions": [{ 
		"thing_id": "12345678-0000-0000-0000-000000000000",
		"sensor_id": "987654321-0000-0000-0000-000000000000",
		"unit": "float",
		"value": "25",
		"channel": "0"
	}]
}`

const minutely = (startDate: string, extra: Record<string, unknown> = {}) => ({
  title: 'Every minute',
  config: { type: 'interval', interval: 1, unit: 'minute', start_date: startDate, tz: 'UTC', ...extra },
})

/** A thing with the id the API text's example names, in the account. */
async function exampleThing(server: TestServer, accountId: string): Promise<void> {
  const { eventStore, readStore, runner } = server.capsicum
  const result = await createThing({ name: 'Example thing' }, accountId, exampleThingId, readStore, {
    eventStore,
    now: () => new Date(),
    newId: () => crypto.randomUUID(),
    metadata: { actor: { type: 'system', id: 'test' }, account_id: accountId, client_id: null, correlation_id: 'test', causation_id: 'test' },
  })
  await runner.waitFor(result.position!, 5000)
}

t.test('jobs over HTTP', async (t) => {
  const clock = new Date('2026-03-01T10:00:00.000Z')
  const server = await startTestServer(t, { now: () => clock })
  const alice = server.tokenFor('account-alice')
  const bob = server.tokenFor('account-bob')
  const raw = (body: string, token = alice) =>
    server.api<Job & ErrorBody>('POST', '/v1.1/jobs', { token, rawBody: body, headers: { 'content-type': 'application/json' } })
  const create = (body: unknown, token = alice) => server.api<Job & ErrorBody>('POST', '/v1.1/jobs', { token, body })
  const jobCount = async () => (await server.api<Job[]>('GET', '/v1.1/jobs', { token: alice })).body.length

  await t.test("the example's action names a thing the account does not have: 400 naming the field", async (t) => {
    const res = await raw(example)
    t.equal(res.status, 400)
    t.match(res.body, { error: 'unknown_thing', details: [{ field: 'actions.0.thing_id' }] })
    t.equal(await jobCount(), 0, 'nothing written')
  })

  t.equal((await server.api('POST', '/v1.1/clients', { token: alice })).status, 201)
  await exampleThing(server, 'account-alice')

  let exampleJob!: Job
  await t.test("accepts the API text's example", async (t) => {
    const res = await raw(example)
    t.equal(res.status, 200, 'the API text says 200')
    exampleJob = res.body
    t.strictSame(Object.keys(res.body).sort(), [
      '__v', '_id', 'account_id', 'actions', 'active', 'config', 'created_at', 'http_push', 'next_runtime', 'notifications', 'title', 'updated_at',
    ])
    t.match(res.body, {
      title: 'My Event',
      account_id: 'account-alice',
      created_at: '2026-03-01T10:00:00.000Z',
      updated_at: '2026-03-01T10:00:00.000Z',
      // 04:16 PDT on 2017-04-28 is 11:16Z; every hour since then: :16 past each hour
      next_runtime: '2026-03-01T10:16:00.000Z',
      __v: 0,
      active: true,
    })
    t.strictSame(res.body.config, { type: 'interval', interval: 1, unit: 'hour', start_date: '2017-04-28 04:16', tz: 'America/Los_Angeles', missed: 'catch_up' })
    t.match(res.body.notifications, [{ method: 'email', value: 'event@event.com' }, { method: 'sms', value: '3101234567' }])
    t.match(res.body.http_push, [{ url: 'http://random.api.com/job', method: 'POST', headers: { 'Content-Type': 'application/json' }, payload: { variable: 1, sample: 2 } }])
    t.match(res.body.actions, [{ thing_id: exampleThingId, sensor_id: '987654321-0000-0000-0000-000000000000', unit: 'float', value: '25', channel: '0' }])
    const ids = [...res.body.notifications, ...res.body.http_push, ...res.body.actions].map((item) => item._id)
    t.equal(new Set(ids).size, 4, 'each item has an id of its own')
    t.equal(res.headers.get('etag'), '"0"')
  })

  await t.test('lists and gets the job (read-your-writes); another account sees nothing', async (t) => {
    const list = await server.api<Job[]>('GET', '/v1.1/jobs', { token: alice })
    t.equal(list.status, 200)
    t.strictSame(list.body, [exampleJob])
    const one = await server.api<Job>('GET', `/v1.1/jobs/${exampleJob._id}`, { token: alice })
    t.equal(one.status, 200)
    t.strictSame(one.body, exampleJob)
    t.equal(one.headers.get('etag'), '"0"')

    t.strictSame((await server.api('GET', '/v1.1/jobs', { token: bob })).body, [])
    for (const [method, path, body] of [
      ['GET', `/v1.1/jobs/${exampleJob._id}`, undefined],
      ['PUT', `/v1.1/jobs/${exampleJob._id}`, { config: exampleJob.config }],
      ['DELETE', `/v1.1/jobs/${exampleJob._id}`, undefined],
      ['GET', `/v1.1/jobs/${exampleJob._id}/runs`, undefined],
    ] as const) {
      const res = await server.api<ErrorBody>(method, path, { token: bob, ...(body ? { body } : {}) })
      t.equal(res.status, 404, `${method} ${path} by another account`)
      t.equal(res.body.error, 'job_not_found')
    }
    t.equal((await server.api('GET', '/v1.1/jobs/not-a-uuid', { token: alice })).status, 404)
    t.equal((await server.api('GET', `/v1.1/jobs/${crypto.randomUUID()}`, { token: alice })).status, 404)
  })

  await t.test('updates: config required, other fields given replace, absent ones stay', async (t) => {
    const missing = await server.api<ErrorBody>('PUT', `/v1.1/jobs/${exampleJob._id}`, { token: alice, body: { title: 'x' } })
    t.equal(missing.status, 400)
    t.match(missing.body.details, [{ field: 'config', problem: 'is required' }])

    clock.setTime(Date.parse('2026-03-01T10:05:00.000Z'))
    const daily = { type: 'interval', interval: 1, unit: 'day', start_date: '2026-03-01 09:00', tz: 'America/Los_Angeles' }
    const res = await server.api<Job>('PUT', `/v1.1/jobs/${exampleJob._id}`, { token: alice, body: { config: daily, title: 'Morning' } })
    t.equal(res.status, 200)
    t.match(res.body, { title: 'Morning', next_runtime: '2026-03-01T17:00:00.000Z', updated_at: '2026-03-01T10:05:00.000Z', created_at: exampleJob.created_at, __v: 1 })
    t.strictSame(res.body.notifications, exampleJob.notifications, 'absent lists stay')
    t.equal(res.headers.get('etag'), '"1"')

    // What a client does: GET, change a field, PUT it back.
    const { body: current } = await server.api<Job>('GET', `/v1.1/jobs/${exampleJob._id}`, { token: alice })
    const resent = await server.api<Job>('PUT', `/v1.1/jobs/${exampleJob._id}`, { token: alice, body: { ...current, title: 'Mornings' } })
    t.equal(resent.status, 200)
    t.strictSame(resent.body.actions, current.actions, 'items sent back keep their ids')
    t.equal(resent.body.__v, 2)
    const unchanged = await server.api<Job>('PUT', `/v1.1/jobs/${exampleJob._id}`, { token: alice, body: resent.body })
    t.equal(unchanged.body.__v, 2, 'sending it back unchanged records nothing')
    const withoutIds = { ...resent.body, notifications: resent.body.notifications.map(({ method, value }) => ({ method, value })) }
    t.strictSame((await server.api<Job>('PUT', `/v1.1/jobs/${exampleJob._id}`, { token: alice, body: withoutIds })).body.notifications, resent.body.notifications, 'an item equal to one the job has keeps its id')

    const stale = await server.api<ErrorBody>('PUT', `/v1.1/jobs/${exampleJob._id}`, { token: alice, headers: { 'if-match': '"0"' }, body: { config: daily, title: 'Lost' } })
    t.equal(stale.status, 412)

    const paused = await server.api<Job>('PUT', `/v1.1/jobs/${exampleJob._id}`, { token: alice, body: { config: daily, active: false } })
    t.match(paused.body, { active: false, next_runtime: null })
    const resumed = await server.api<Job>('PUT', `/v1.1/jobs/${exampleJob._id}`, { token: alice, body: { config: daily, active: true } })
    t.match(resumed.body, { active: true, next_runtime: '2026-03-01T17:00:00.000Z' })
  })

  await t.test('refuses bad input, naming the field, and writes nothing', async (t) => {
    const before = await jobCount()
    const cases: [string, unknown, string, RegExp?][] = [
      ['no config', { title: 'x' }, 'config'],
      ['an unknown type', { config: { type: 'weekly', start_date: '2026-04-01 09:00' } }, 'config.type', /interval, date/],
      ['an interval job without interval', { config: { type: 'interval', unit: 'hour', start_date: '2026-04-01 09:00' } }, 'config.interval'],
      ['interval 0', { config: { type: 'interval', interval: 0, unit: 'hour', start_date: '2026-04-01 09:00' } }, 'config.interval'],
      ['interval 1.5', { config: { type: 'interval', interval: 1.5, unit: 'hour', start_date: '2026-04-01 09:00' } }, 'config.interval'],
      ['interval -2', { config: { type: 'interval', interval: '-2', unit: 'hour', start_date: '2026-04-01 09:00' } }, 'config.interval'],
      ['an interval job without unit', { config: { type: 'interval', interval: 1, start_date: '2026-04-01 09:00' } }, 'config.unit'],
      ['a unit of weeks', { config: { type: 'interval', interval: 1, unit: 'week', start_date: '2026-04-01 09:00' } }, 'config.unit', /minute, hour, day, month, year/],
      ['an unknown zone', { config: { type: 'date', start_date: '2026-04-01 09:00', tz: 'Mars/Olympus_Mons' } }, 'config.tz', /IANA/],
      ['an offset for a zone', { config: { type: 'date', start_date: '2026-04-01 09:00', tz: '+02:00' } }, 'config.tz'],
      ['no start_date', { config: { type: 'date' } }, 'config.start_date'],
      ['a start_date that is no date', { config: { type: 'date', start_date: 'next tuesday' } }, 'config.start_date'],
      ['Feb 30', { config: { type: 'date', start_date: '2026-02-30 09:00' } }, 'config.start_date'],
      ['a date job in the past', { config: { type: 'date', start_date: '2026-02-01 09:00' } }, 'config.start_date', /future/],
      ['an unknown missed policy', { config: { type: 'date', start_date: '2026-04-01 09:00', missed: 'sometimes' } }, 'config.missed'],
      ['a push notification', { ...minutely('2026-04-01 09:00'), notifications: [{ method: 'push', value: 'x' }] }, 'notifications.0.method', /email, sms/],
      ['an e-mail that is not one', { ...minutely('2026-04-01 09:00'), notifications: [{ method: 'email', value: 'nobody' }] }, 'notifications.0.value'],
      ['an SMS to no number', { ...minutely('2026-04-01 09:00'), notifications: [{ method: 'sms', value: 'call me' }] }, 'notifications.0.value'],
      ['an HTTP method that is none', { ...minutely('2026-04-01 09:00'), http_push: [{ url: 'http://example.com/', method: 'FETCH' }] }, 'http_push.0.method'],
      ['headers that are not text', { ...minutely('2026-04-01 09:00'), http_push: [{ url: 'http://example.com/', headers: { 'X-N': 1 } }] }, 'http_push.0.headers.X-N'],
      ['an action without a channel', { ...minutely('2026-04-01 09:00'), actions: [{ thing_id: exampleThingId, value: 1 }] }, 'actions.0.channel'],
      ['an action on no thing id', { ...minutely('2026-04-01 09:00'), actions: [{ thing_id: 'lamp', value: 1, channel: 2 }] }, 'actions.0.thing_id'],
      ["an action on another account's thing", { ...minutely('2026-04-01 09:00'), actions: [{ thing_id: crypto.randomUUID(), value: 1, channel: 2 }] }, 'actions.0.thing_id'],
      ['active that is not a boolean', { ...minutely('2026-04-01 09:00'), active: 'yes' }, 'active'],
    ]
    for (const [what, body, field, problem] of cases) {
      const res = await create(body)
      t.equal(res.status, 400, `${what}: 400`)
      t.ok(res.body.details?.some((d) => d.field === field && (!problem || problem.test(d.problem))), `${what}: names ${field} (${JSON.stringify(res.body.details)})`)
    }
    t.equal(await jobCount(), before, 'nothing written')
  })

  await t.test('reads start_date as local time in tz, or as an instant with an offset', async (t) => {
    const local = await create({ config: { type: 'date', start_date: '2026-03-08 02:30', tz: 'america/los_angeles' } })
    t.equal(local.status, 200)
    t.match(local.body, { next_runtime: '2026-03-08T10:30:00.000Z', config: { tz: 'America/Los_Angeles', interval: null, unit: null } }, '02:30 does not exist that night: 03:30 PDT')
    const instant = await create({ config: { type: 'date', start_date: '2026-03-08T02:30:00+01:00', tz: 'America/Los_Angeles' } })
    t.match(instant.body, { next_runtime: '2026-03-08T01:30:00.000Z' })
    const utc = await create({ config: { type: 'interval', interval: '2', unit: 'Day', start_date: '2026-03-01 09:00' } })
    t.match(utc.body, { next_runtime: '2026-03-03T09:00:00.000Z', config: { tz: 'UTC', interval: 2, unit: 'day' } }, 'tz defaults to UTC; "2" and "Day" are read')
  })

  await t.test('a management token may act for another account; others may not', async (t) => {
    const ops = server.tokenFor('account-ops', { roles: ['management'] })
    const res = await create({ ...minutely('2026-04-01 09:00'), account_id: 'account-carol' }, ops)
    t.equal(res.status, 200)
    t.equal(res.body.account_id, 'account-carol')
    const listed = await server.api<Job[]>('GET', '/v1.1/jobs?account_id=account-carol', { token: ops })
    t.strictSame(listed.body.map((j) => j._id), [res.body._id])
    const refused = await create({ ...minutely('2026-04-01 09:00'), account_id: 'account-carol' }, bob)
    t.equal(refused.status, 403)
  })

  await t.test('deletes: { success: true }, then it is gone', async (t) => {
    const res = await server.api('DELETE', `/v1.1/jobs/${exampleJob._id}`, { token: alice })
    t.equal(res.status, 200)
    t.strictSame(res.body, { success: true })
    t.equal((await server.api('GET', `/v1.1/jobs/${exampleJob._id}`, { token: alice })).status, 404)
    t.equal((await server.api('DELETE', `/v1.1/jobs/${exampleJob._id}`, { token: alice })).status, 404)
    t.notOk((await server.api<Job[]>('GET', '/v1.1/jobs', { token: alice })).body.some((j) => j._id === exampleJob._id))
  })
})

t.test("the server's scheduler runs jobs; GET /runs lists the runs and their outcomes", async (t) => {
  const clock = new Date('2026-03-01T10:00:00.000Z')
  const server = await startTestServer(t, { now: () => clock })
  const alice = server.tokenFor('account-alice')
  const runsOf = (jobId: string) => server.api<Run[]>('GET', `/v1.1/jobs/${jobId}/runs`, { token: alice })
  /** Polls the runs until `done` holds (the scheduler polls every second). */
  const until = async (jobId: string, what: string, done: (runs: Run[]) => boolean): Promise<Run[]> =>
    within(
      (async () => {
        for (;;) {
          const runs = (await runsOf(jobId)).body
          if (done(runs)) return runs
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      })(),
      what,
      15_000,
    )

  const created = await server.api<Job>('POST', '/v1.1/jobs', {
    token: alice,
    body: { ...minutely('2026-03-01 10:01'), notifications: [{ method: 'sms', value: '+13101234567' }] },
  })
  t.equal(created.status, 200)
  const jobId = created.body._id
  t.strictSame((await runsOf(jobId)).body, [], 'no runs yet')

  clock.setTime(Date.parse('2026-03-01T10:01:00.000Z'))
  const [first] = await until(jobId, 'the first run', (runs) => runs.length === 1)
  t.match(first, { occurrence: '2026-03-01T10:01:00.000Z', status: 'fired', reason: 'on_time', fired_at: '2026-03-01T10:01:00.000Z', missed_since: null })

  // The SMS has no provider here: its delivery is recorded as undeliverable, and shows as the run's outcome.
  const [withOutcome] = await until(jobId, 'the run\'s outcome', (runs) => runs[0]?.outcomes.length === 1 && runs[0].outcomes[0]!.status !== 'pending')
  t.match(withOutcome!.outcomes, [{ effect: 'notifications[0]', channel: 'sms', target: '+13101234567', status: 'undeliverable' }])

  // Five minutes without a pass (the clock jumps): one catch-up run for the latest.
  clock.setTime(Date.parse('2026-03-01T10:06:30.000Z'))
  const runs = await until(jobId, 'the catch-up run', (r) => r.length === 2)
  t.match(runs, [
    { occurrence: '2026-03-01T10:06:00.000Z', status: 'fired', reason: 'catch_up', fired_at: '2026-03-01T10:06:30.000Z' },
    { occurrence: '2026-03-01T10:01:00.000Z', reason: 'on_time' },
  ], 'newest first')
  const job = await server.api<Job>('GET', `/v1.1/jobs/${jobId}`, { token: alice })
  t.match(job.body, { next_runtime: '2026-03-01T10:07:00.000Z', __v: 2 })
  t.equal((await server.api<Run[]>('GET', `/v1.1/jobs/${jobId}/runs?limit=1&offset=1`, { token: alice })).body[0]?.occurrence, '2026-03-01T10:01:00.000Z')
  t.equal((await server.api<ErrorBody>('GET', `/v1.1/jobs/${jobId}/runs?limit=0`, { token: alice })).status, 400)
})

t.test('a job created for two seconds from now fires within a second of its time (real clock)', async (t) => {
  const server = await startTestServer(t)
  const alice = server.tokenFor('account-alice')
  const at = new Date(Math.ceil((Date.now() + 2000) / 1000) * 1000)
  const created = await server.api<Job>('POST', '/v1.1/jobs', {
    token: alice,
    body: { title: 'Soon', config: { type: 'date', start_date: at.toISOString() } },
  })
  t.equal(created.status, 200)
  t.equal(created.body.next_runtime, at.toISOString())
  const run = await within(
    (async () => {
      for (;;) {
        const [first] = (await server.api<Run[]>('GET', `/v1.1/jobs/${created.body._id}/runs`, { token: alice })).body
        if (first) return first
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    })(),
    'the run',
    15_000,
  )
  const lateMs = Date.parse(run.fired_at!) - at.getTime()
  t.ok(lateMs >= 0 && lateMs < 1000, `fired ${lateMs} ms after its time`)
  t.equal(run.reason, 'on_time')
  const job = await server.api<Job>('GET', `/v1.1/jobs/${created.body._id}`, { token: alice })
  t.match(job.body, { active: false, next_runtime: null }, 'a date job is inactive after it ran')
})
