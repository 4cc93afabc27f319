/** GET /v1.1/things/{id}/data/{channel}: raw points, buckets with every function, calendar days across DST, validation. */
import t from 'tap'
import type { Test } from 'tap'
import { deviceAccount } from '../helpers/mqtt.ts'
import { startTestServer, type TestServer } from '../helpers/server.ts'
import { feed, readingsOf, reading, settled } from './fixtures.ts'

interface History {
  channel: string
  from: string
  to: string
  interval: string | null
  function: string | null
  tz: string
  points: { timestamp: string; value: unknown }[]
}

const basic = (username: string, password: string) => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`

t.test('a channel\'s history', async (t) => {
  const server = await startTestServer(t)
  const account = await deviceAccount(server, { things: 1 })
  const thingId = account.thingIds[0]!
  const device = { thingId, accountId: account.accountId }
  const get = (path: string) => server.api<History>('GET', `/v1.1/things/${thingId}/data/${path}`, { token: account.token })
  const at = (iso: string) => `2026-05-01T${iso}Z`
  await feed(server, [
    readingsOf(device, at('10:00:00.000'), [reading('1', 1), reading('2', [1, 2], 'accel', 'g')]),
    readingsOf(device, at('10:10:00.000'), [reading('1', 5), reading('2', [3, 4], 'accel', 'g')]),
    readingsOf(device, at('10:20:00.000'), [reading('1', 3), reading('2', [5], 'accel', 'g')]),
    readingsOf(device, at('11:30:00.000'), [reading('1', 10), reading('2', 'jammed', null, null)]),
    readingsOf(device, at('12:59:59.999'), [reading('1', -4)]),
  ])
  const range = `from=${at('10:00:00.000')}&to=${at('13:00:00.000')}`

  await t.test('raw points in [from, to), oldest first', async (t) => {
    const res = await get(`1?${range}`)
    t.equal(res.status, 200)
    t.strictSame(res.body, {
      channel: '1',
      from: at('10:00:00.000'),
      to: at('13:00:00.000'),
      interval: null,
      function: null,
      tz: 'UTC',
      points: [
        { timestamp: at('10:00:00.000'), value: 1 },
        { timestamp: at('10:10:00.000'), value: 5 },
        { timestamp: at('10:20:00.000'), value: 3 },
        { timestamp: at('11:30:00.000'), value: 10 },
        { timestamp: at('12:59:59.999'), value: -4 },
      ],
    })
    const narrow = await get(`1?from=${Date.parse(at('10:10:00.000'))}&to=${Date.parse(at('11:30:00.000'))}`)
    t.strictSame(narrow.body.points.map((p) => p.value), [5, 3], 'epoch ms work too; to is exclusive')
  })

  await t.test('hour buckets with every function, empty buckets included', async (t) => {
    const expected: Record<string, unknown[]> = {
      avg: [3, 10, -4],
      min: [1, 10, -4],
      max: [5, 10, -4],
      sum: [9, 10, -4],
      count: [3, 1, 1],
      first: [1, 10, -4],
      last: [3, 10, -4],
    }
    for (const [fn, values] of Object.entries(expected)) {
      const res = await get(`1?${range}&interval=hour&function=${fn}`)
      t.equal(res.status, 200)
      t.strictSame(res.body.points.map((p) => p.timestamp), [at('10:00:00.000'), at('11:00:00.000'), at('12:00:00.000')])
      t.strictSame(res.body.points.map((p) => p.value), values, fn)
      t.equal(res.body.function, fn)
    }
    const gap = await get(`1?from=${at('10:00:00.000')}&to=${at('14:00:00.000')}&interval=hour&function=count`)
    t.strictSame(gap.body.points.map((p) => p.value), [3, 1, 1, 0], 'an hour without readings counts 0')
    const avgGap = await get(`1?from=${at('10:00:00.000')}&to=${at('14:00:00.000')}&interval=hour`)
    t.strictSame(avgGap.body.points.map((p) => p.value), [3, 10, -4, null], 'avg is the default; an empty bucket has no value')
  })

  await t.test('multi-value readings are aggregated per component; text has no number', async (t) => {
    t.strictSame((await get(`2?${range}&interval=hour&function=avg`)).body.points.map((p) => p.value), [[3, 3], null, null])
    t.strictSame((await get(`2?${range}&interval=hour&function=max`)).body.points.map((p) => p.value), [[5, 4], null, null])
    t.strictSame((await get(`2?${range}&interval=hour&function=count`)).body.points.map((p) => p.value), [3, 1, 0])
    t.strictSame((await get(`2?${range}&interval=hour&function=last`)).body.points.map((p) => p.value), [[5], 'jammed', null])
    t.strictSame((await get(`2?${range}`)).body.points.map((p) => p.value), [[1, 2], [3, 4], [5], 'jammed'], 'raw points as they came')
  })

  await t.test('a channel without readings has no points', async (t) => {
    t.strictSame((await get(`77?${range}`)).body.points, [])
    t.strictSame((await get(`77?${range}&interval=hour&function=count`)).body.points.map((p) => p.value), [0, 0, 0])
  })

  await t.test('defaults: the 24 hours before now, UTC', async (t) => {
    const res = await get('1')
    t.equal(res.status, 200)
    t.equal(Date.parse(res.body.to) - Date.parse(res.body.from), 86_400_000)
    t.equal(res.body.tz, 'UTC')
  })

  await t.test('bad queries are refused, naming the field', async (t) => {
    const refused = async (query: string, field: string) => {
      const res = await server.api<{ error: string; details: { field: string; problem: string }[] }>('GET', `/v1.1/things/${thingId}/data/1?${query}`, { token: account.token })
      t.equal(res.status, 400, query)
      t.equal(res.body.details[0]?.field, field, `${query} names ${field}`)
      return res.body.details[0]?.problem ?? ''
    }
    await refused('from=yesterday', 'from')
    await refused('from=2026-05-01T10:00:00', 'from')
    await refused(`${range}&tz=Mars/Olympus_Mons`, 'tz')
    await refused(`${range}&interval=fortnight`, 'interval')
    await refused(`${range}&interval=hour&function=median`, 'function')
    await refused(`${range}&function=max`, 'function')
    await refused(`from=${at('12:00:00.000')}&to=${at('11:00:00.000')}`, 'to')
    await refused(`from=${at('12:00:00.000')}&to=${at('12:00:00.000')}`, 'to')
    t.match(await refused('from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z&interval=minute', 'interval'), /10000 buckets/)
  })
})

t.test('more raw points than one answer holds: 400 with the limit', async (t) => {
  const server = await startTestServer(t)
  const account = await deviceAccount(server, { things: 1 })
  const device = { thingId: account.thingIds[0]!, accountId: account.accountId }
  const start = Date.parse('2026-01-01T00:00:00.000Z')
  const messages = Array.from({ length: 101 }, (_, m) =>
    readingsOf(device, new Date(start + m * 60_000), Array.from({ length: 100 }, (_, i) => reading('1', m * 100 + i))),
  )
  await feed(server, messages)
  const query = `from=${start}&to=${start + 86_400_000}`
  const res = await server.api<{ details: { field: string; problem: string }[] }>('GET', `/v1.1/things/${device.thingId}/data/1?${query}`, { token: account.token })
  t.equal(res.status, 400)
  t.equal(res.body.details[0]?.field, 'interval')
  t.match(res.body.details[0]?.problem, /10100 readings, more than the 10000/)
  const bucketed = await server.api<History>('GET', `/v1.1/things/${device.thingId}/data/1?${query}&interval=day&function=count`, { token: account.token })
  t.strictSame(bucketed.body.points, [{ timestamp: '2026-01-01T00:00:00.000Z', value: 10_100 }], 'the same range in buckets is fine')
})

/** Readings every hour, placed by the server's clock through the HTTP ingest. */
async function hourlyReadings(t: Test, fromIso: string, hours: number): Promise<{ server: TestServer; thingId: string; token: string }> {
  let clock = new Date(fromIso)
  const server = await startTestServer(t, { now: () => clock })
  const account = await deviceAccount(server, { things: 1 })
  const thingId = account.thingIds[0]!
  const produced: { partition: number; offset: number }[] = []
  for (let h = 0; h < hours; h++) {
    clock = new Date(Date.parse(fromIso) + h * 3_600_000)
    const res = await fetch(`${server.url}/v1.1/things/${thingId}/data`, {
      method: 'POST',
      headers: { authorization: basic(account.username, account.password), 'content-type': 'application/json' },
      body: JSON.stringify([{ channel: 1, value: h, type: 'temp', unit: 'c' }]),
    })
    if (res.status !== 200) throw new Error(`ingest answered ${res.status}: ${await res.text()}`)
  }
  produced.push({ partition: server.capsicum.telemetry.partitionFor(thingId), offset: hours - 1 })
  await settled(server, produced)
  return { server, thingId, token: account.token }
}

t.test('day buckets follow the calendar of the time zone across DST changes', async (t) => {
  const tz = 'America/Los_Angeles'
  await t.test('2026-03-08 has 23 hours in Los Angeles', async (t) => {
    // Midnight of 2026-03-07 in Los Angeles (PST, UTC-8), for 3 days.
    const { server, thingId, token } = await hourlyReadings(t, '2026-03-07T08:00:00.000Z', 71)
    const res = await server.api<History>(
      'GET',
      `/v1.1/things/${thingId}/data/1?from=2026-03-07T00:00:00-08:00&to=2026-03-10T00:00:00-07:00&interval=day&function=count&tz=${tz}`,
      { token },
    )
    t.equal(res.status, 200)
    t.strictSame(res.body.points, [
      { timestamp: '2026-03-07T08:00:00.000Z', value: 24 },
      { timestamp: '2026-03-08T08:00:00.000Z', value: 23 },
      { timestamp: '2026-03-09T07:00:00.000Z', value: 24 },
    ])
    const utc = await server.api<History>('GET', `/v1.1/things/${thingId}/data/1?from=2026-03-07T08:00:00Z&to=2026-03-10T07:00:00Z&interval=day&function=count`, { token })
    t.strictSame(utc.body.points.map((p) => p.timestamp), ['2026-03-07T00:00:00.000Z', '2026-03-08T00:00:00.000Z', '2026-03-09T00:00:00.000Z', '2026-03-10T00:00:00.000Z'], 'in UTC the days fall elsewhere')
    const first = await server.api<History>('GET', `/v1.1/things/${thingId}/data/1?from=2026-03-07T00:00:00-08:00&to=2026-03-10T00:00:00-07:00&interval=day&function=first&tz=${tz}`, { token })
    t.strictSame(first.body.points.map((p) => p.value), [0, 24, 47], 'each day starts with the reading of its local midnight')
  })
  await t.test('2026-11-01 has 25 hours in Los Angeles', async (t) => {
    // Midnight of 2026-10-31 in Los Angeles (PDT, UTC-7), for 3 days.
    const { server, thingId, token } = await hourlyReadings(t, '2026-10-31T07:00:00.000Z', 73)
    const res = await server.api<History>(
      'GET',
      `/v1.1/things/${thingId}/data/1?from=2026-10-31T00:00:00-07:00&to=2026-11-03T00:00:00-08:00&interval=day&function=count&tz=${tz}`,
      { token },
    )
    t.strictSame(res.body.points, [
      { timestamp: '2026-10-31T07:00:00.000Z', value: 24 },
      { timestamp: '2026-11-01T07:00:00.000Z', value: 25 },
      { timestamp: '2026-11-02T08:00:00.000Z', value: 24 },
    ])
    const month = await server.api<History>('GET', `/v1.1/things/${thingId}/data/1?from=2026-10-31T00:00:00-07:00&to=2026-11-03T00:00:00-08:00&interval=month&function=count&tz=${tz}`, { token })
    t.strictSame(month.body.points, [
      { timestamp: '2026-10-01T07:00:00.000Z', value: 24 },
      { timestamp: '2026-11-01T07:00:00.000Z', value: 49 },
    ], 'months too')
    const week = await server.api<History>('GET', `/v1.1/things/${thingId}/data/1?from=2026-10-31T00:00:00-07:00&to=2026-11-03T00:00:00-08:00&interval=week&function=count&tz=${tz}`, { token })
    t.strictSame(week.body.points, [
      { timestamp: '2026-10-26T07:00:00.000Z', value: 49 },
      { timestamp: '2026-11-02T08:00:00.000Z', value: 24 },
    ], 'weeks start on Monday')
  })
})
