/**
 * GET /metrics over real HTTP, parsed as the Prometheus text format, moving with real
 * traffic: HTTP requests by route template, an mqtt.js device's publishes and a refused
 * CONNECT, readings recorded, a projection catching up, the scheduler, deliveries.
 */
import t from 'tap'
import { startTestServer, type TestServer } from '../helpers/server.ts'
import { connackCode, connectDevice, deviceAccount, waitUntil } from '../helpers/mqtt.ts'
import { fireJob, startReceiver } from '../helpers/deliveries.ts'
import { scrape, type Scrape } from './prometheus.ts'

const metricsToken = 'metrics-token-for-the-tests-0123456789'
const asScraper = { authorization: `Bearer ${metricsToken}` }

const scrapeOf = (server: TestServer): Promise<Scrape> => scrape(`${server.url}/metrics`, asScraper)

/** Scrapes until `check` holds (the counters move as the server works; a guard, not a timing). */
async function scrapeUntil(server: TestServer, what: string, check: (s: Scrape) => boolean): Promise<Scrape> {
  return waitUntil(async () => {
    const s = await scrapeOf(server)
    return check(s) ? s : undefined
  }, what, 15_000)
}

t.test('/metrics on the HTTP port: only an admin token or METRICS_TOKEN reads it', async (t) => {
  const server = await startTestServer(t, { env: { METRICS_TOKEN: metricsToken } })
  const get = (headers: Record<string, string> = {}) => fetch(`${server.url}/metrics`, { headers })
  const anonymous = await get()
  t.equal(anonymous.status, 401)
  t.match(await anonymous.json(), { message: /admin access token or the metrics token/ })
  const user = await get({ authorization: `Bearer ${server.tokenFor('account-a')}` })
  t.equal(user.status, 403, 'a valid token without the admin role')
  t.equal((await get({ authorization: 'Bearer metrics-token-for-the-tests-0123456780' })).status, 401, 'another token of the same length')
  const admin = await get({ authorization: `Bearer ${server.tokenFor('account-a', { roles: ['admin'] })}` })
  t.equal(admin.status, 200)
  t.match(admin.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  const s = await scrapeOf(server)
  t.ok(s.family('process_cpu_user_seconds_total'), 'process metrics')
  t.ok(s.family('nodejs_eventloop_lag_seconds'), 'Node.js metrics')
})

t.test('HTTP requests are counted by route template, method and status, never by raw path', async (t) => {
  const server = await startTestServer(t, { env: { METRICS_TOKEN: metricsToken } })
  const token = server.tokenFor('account-http')
  const before = await scrapeOf(server)
  const route = { route: '/v1.1/things/:thingId', method: 'GET', status: '404' }
  for (const id of ['4d3f6f5e-0000-4000-8000-000000000001', '4d3f6f5e-0000-4000-8000-000000000002', '4d3f6f5e-0000-4000-8000-000000000003']) {
    t.equal((await server.api('GET', `/v1.1/things/${id}`, { token })).status, 404)
  }
  await fetch(`${server.url}/no/such/route/${crypto.randomUUID()}`)
  const types = await server.api('GET', '/v1.1/things/types', { token })
  t.equal(types.status, 200)

  const after = await scrapeUntil(server, 'the requests to be counted', (s) => s.value('capsicum_http_requests_total', route) - before.value('capsicum_http_requests_total', route) === 3)
  t.equal(after.value('capsicum_http_requests_total', { route: '/v1.1/things/types', method: 'GET', status: '200' }), 1)
  t.ok(after.value('capsicum_http_requests_total', { route: 'unmatched', method: 'GET', status: '404' }) >= 1, 'an unmatched path has one label')
  t.equal(after.value('capsicum_http_request_duration_seconds', route) - before.value('capsicum_http_request_duration_seconds', route), 3, 'a latency histogram per route')
  const buckets = after.buckets('capsicum_http_request_duration_seconds', route)
  t.ok(buckets.size > 5, 'with buckets')
  t.equal(buckets.get('+Inf'), after.value('capsicum_http_request_duration_seconds', route), 'the last bucket holds every request')
  const counts = [...buckets.values()]
  t.ok(counts.every((count, i) => i === 0 || count >= counts[i - 1]!), `buckets are cumulative: ${counts.join(', ')}`)
  t.ok(after.sum('capsicum_http_request_duration_seconds', route) > before.sum('capsicum_http_request_duration_seconds', route), 'the sum of the durations grows')
  const routes = after.labelValues('capsicum_http_requests_total', 'route')
  t.notOk([...routes].some((r) => r.includes('4d3f6f5e') || r.includes('/no/such')), `no raw path among ${[...routes].join(', ')}`)
})

t.test('MQTT: connections, a refused CONNECT, publishes by topic kind and QoS, readings recorded and rejected', async (t) => {
  const server = await startTestServer(t, { env: { METRICS_TOKEN: metricsToken } })
  const account = await deviceAccount(server, { things: 1 })
  const mqttUrl = server.capsicum.mqttUrl!

  t.equal(await connackCode(mqttUrl, { ...account.device(0), password: 'wrong' }), 4)
  const device = await connectDevice(t, mqttUrl, account.device(0))
  for (let i = 0; i < 5; i++) await device.publish(account.topic(0, 'data/1'), `temp,c=2${i}`, { qos: 1 })
  await device.publish(account.topic(0, 'data/2'), 'temp,c=', { qos: 1 }) // not a number: rejected
  await device.publish(account.topic(0, 'sys/model'), 'Uno', { qos: 0 })

  const s = await scrapeUntil(server, 'the readings to be recorded', (s) =>
    s.value('capsicum_readings_recorded_total') >= 5 && s.value('capsicum_readings_rejected_total') >= 1 && s.value('capsicum_mqtt_publishes_total', { kind: 'sys', qos: '0' }) >= 1)
  t.equal(s.value('capsicum_readings_recorded_total'), 5)
  t.equal(s.value('capsicum_readings_rejected_total'), 1)
  t.equal(s.value('capsicum_mqtt_connects_refused_total', { reason: 'bad_credentials' }), 1)
  t.equal(s.value('capsicum_mqtt_connections'), 1, 'one device connected')
  t.equal(s.value('capsicum_mqtt_publishes_total', { kind: 'data', qos: '1' }), 6)
  t.equal(s.value('capsicum_mqtt_publishes_total', { kind: 'sys', qos: '0' }), 1)
  t.ok(s.value('capsicum_eventstore_append_duration_seconds') > 0, 'appends timed')
  t.ok(s.value('capsicum_eventstore_commit_appends') > 0, 'group commits sized')
  t.equal(s.labelValues('capsicum_telemetry_consumer_lag', 'partition').size, 16, 'one series per partition')
  const caughtUp = await scrapeUntil(server, 'the processor to catch up', (s) => s.total('capsicum_telemetry_consumer_lag', { group: 'telemetry-processor' }) === 0)
  t.equal(caughtUp.total('capsicum_telemetry_consumer_lag'), 0)

  await device.end()
  await scrapeUntil(server, 'the connection to close', (s) => s.value('capsicum_mqtt_connections') === 0)
})

t.test('projection lag in events and seconds, back to 0 once the projection caught up', async (t) => {
  // The write does not wait for the stopped projector.
  const server = await startTestServer(t, { env: { METRICS_TOKEN: metricsToken, READ_YOUR_WRITES_TIMEOUT_MS: '0' } })
  const token = server.tokenFor('account-lag')
  await server.capsicum.runner.stop()
  const created = await server.api('POST', '/v1.1/things/types', { token, body: { name: 'Lagging', description: 'written while the projector is stopped' } })
  t.equal(created.status, 200)
  const behind = await scrapeOf(server)
  t.ok(behind.value('capsicum_projection_lag_events', { projection: 'thingTypes' }) >= 1, 'thingTypes is behind')
  t.ok(behind.value('capsicum_projection_lag_seconds', { projection: 'thingTypes' }) >= 0)
  t.equal(behind.family('capsicum_projection_lag_events')!.type, 'gauge')

  await server.capsicum.runner.start()
  const after = await scrapeUntil(server, 'the projections to catch up', (s) => s.value('capsicum_projection_lag_events', { projection: 'thingTypes' }) === 0)
  t.equal(after.value('capsicum_projection_lag_seconds', { projection: 'thingTypes' }), 0)
})

t.test('scheduler lateness, deliveries by channel and outcome, dead letters', async (t) => {
  const clock = new Date('2026-03-01T10:00:00.000Z')
  const server = await startTestServer(t, { now: () => clock, env: { METRICS_TOKEN: metricsToken, HTTP_PUSH_ALLOW_PRIVATE: 'true' } })
  const token = server.tokenFor('account-jobs')
  const created = await server.api<{ _id: string }>('POST', '/v1.1/jobs', {
    token,
    body: { title: 'Late', config: { type: 'interval', interval: 1, unit: 'minute', start_date: '2026-03-01 10:01', tz: 'UTC' }, notifications: [{ method: 'sms', value: '+13101234567' }] },
  })
  t.equal(created.status, 200)
  clock.setTime(Date.parse('2026-03-01T10:01:30.000Z')) // the 10:01 run is recorded 30 s late

  const late = await scrapeUntil(server, 'the run to be recorded', (s) => s.value('capsicum_scheduler_lateness_seconds') >= 1)
  t.equal(late.sum('capsicum_scheduler_lateness_seconds'), 30, 'lateness measured from the occurrence')
  await scrapeUntil(server, 'the SMS to be undeliverable', (s) => s.value('capsicum_deliveries_total', { channel: 'sms', outcome: 'undeliverable' }) === 1)

  const receiver = await startReceiver(t, () => ({ status: 400 }))
  await fireJob(server, { accountId: 'account-jobs', title: 'Refused push', at: clock.toISOString(), effects: { httpPush: [{ method: 'POST', url: `${receiver.url}/hook`, headers: {}, payload: null }] } })
  const dead = await scrapeUntil(server, 'the push to be dead-lettered', (s) => s.value('capsicum_dead_letters_total', { channel: 'http_push' }) === 1)
  t.equal(dead.value('capsicum_deliveries_total', { channel: 'http_push', outcome: 'rejected' }), 1, 'a 4xx is one attempt, rejected, then dead')
  t.equal(dead.total('capsicum_deliveries_total', { channel: 'http_push' }), 1)
})

t.test('METRICS_PORT: /metrics only on its own listener', async (t) => {
  const server = await startTestServer(t, { env: { METRICS_PORT: '0' } })
  const port = server.capsicum.metricsPort
  t.ok(port, 'a port of its own')
  const admin = { authorization: `Bearer ${server.tokenFor('account-a', { roles: ['admin'] })}` }
  t.equal((await fetch(`${server.url}/metrics`, { headers: admin })).status, 404, 'not on the HTTP port')
  const s = await scrape(`http://127.0.0.1:${port}/metrics`)
  t.ok(s.family('capsicum_http_requests_total'), 'open there without a token')
  t.equal((await fetch(`http://127.0.0.1:${port}/v1.1/things`)).status, 404, 'nothing else there')

  const guarded = await startTestServer(t, { env: { METRICS_PORT: '0', METRICS_TOKEN: metricsToken } })
  t.equal((await fetch(`http://127.0.0.1:${guarded.capsicum.metricsPort}/metrics`)).status, 401, 'with METRICS_TOKEN set, it is needed there too')
  t.ok((await scrape(`http://127.0.0.1:${guarded.capsicum.metricsPort}/metrics`, asScraper)).family('capsicum_http_requests_total'))
})

t.test('METRICS=off: no /metrics', async (t) => {
  const server = await startTestServer(t, { env: { METRICS: 'off', METRICS_TOKEN: metricsToken } })
  t.equal((await fetch(`${server.url}/metrics`, { headers: asScraper })).status, 404)
})
