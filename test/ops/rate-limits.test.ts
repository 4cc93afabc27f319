/**
 * Rate limits over real HTTP and real MQTT: a 429 that names the limit, with Retry-After
 * and the RateLimit / RateLimit-Policy fields; a CONNECT flood answered CONNACK 3; a fast
 * QoS 1 publisher slowed down, not dropped, losing nothing; two nodes sharing one count
 * through the real Redis on 127.0.0.1:6379.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import t from 'tap'
import { startCapsicum } from '../../adapters/capsicum.ts'
import { loadConfig } from '../../adapters/config.ts'
import { startTestServer, tempDataDir, type TestServer } from '../helpers/server.ts'
import { connackCode, connectDevice, deviceAccount, waitUntil } from '../helpers/mqtt.ts'
import { scrape } from './prometheus.ts'

const metricsToken = 'metrics-token-for-the-tests-0123456789'
const limited = (env: Record<string, string>) => ({ RATE_LIMITS: 'on', METRICS_TOKEN: metricsToken, ...env })

interface Refusal {
  error: string
  message: string
  details: { field: string; problem: string }[]
  limit: { name: string; count: number; window_seconds: number; reset_at: string; retry_after_seconds: number }
}

const tokenRequest = (url: string, body: Record<string, string>) =>
  fetch(`${url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) })

const apiGet = (url: string, token: string) => fetch(`${url}/v1.1/things/types`, { headers: { authorization: `Bearer ${token}` } })

const refusals = async (server: TestServer, limit: string): Promise<number> =>
  (await scrape(`${server.url}/metrics`, { authorization: `Bearer ${metricsToken}` })).value('capsicum_rate_limited_total', { limit })

/** A logger whose JSON lines the test reads. */
function capturedLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>)
      done()
    },
  })
  return { logger: pino({ level: 'info' }, sink), lines }
}

t.test('/oauth/token and the login form: per e-mail, then per client address; a 429 says which limit, its window, its count and when it resets', async (t) => {
  const server = await startTestServer(t, { env: limited({ RATE_LIMIT_TOKEN_PER_EMAIL: '3/1m', RATE_LIMIT_TOKEN_PER_ADDRESS: '5/1m' }) })
  const attempt = { grant_type: 'password', email: 'victim@example.com', password: 'not-the-password', client_id: randomUUID() }
  for (let i = 0; i < 3; i++) {
    const res = await tokenRequest(server.url, attempt)
    t.not(res.status, 429, `attempt ${i + 1} reaches the grant`)
    t.match(res.headers.get('ratelimit-policy'), /"token_per_address";q=5;w=60, "token_per_email";q=3;w=60/)
    t.match(res.headers.get('ratelimit'), new RegExp(`"token_per_address";r=${4 - i};t=\\d+, "token_per_email";r=${2 - i};t=\\d+`))
  }
  const refused = await tokenRequest(server.url, { ...attempt, email: 'VICTIM@example.com ' })
  t.equal(refused.status, 429, 'the same e-mail, in another case')
  const body = (await refused.json()) as Refusal
  t.match(body, {
    error: 'rate_limited',
    message: /token_per_email allows 3 per 60 s/,
    details: [{ field: 'email', problem: /more than 3/ }],
    limit: { name: 'token_per_email', count: 3, window_seconds: 60 },
  })
  const retryAfter = Number(refused.headers.get('retry-after'))
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`)
  t.equal(body.limit.retry_after_seconds, retryAfter)
  const resetsIn = Date.parse(body.limit.reset_at) - Date.now()
  t.ok(resetsIn > 0 && resetsIn <= 60_000, `resets within the window (${resetsIn} ms)`)
  t.match(refused.headers.get('ratelimit'), /"token_per_email";r=0;t=\d+/)

  // The login form counts against the same client address.
  const login = await fetch(`${server.url}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ email: 'other@example.com', password: 'x' }), redirect: 'manual' })
  t.not(login.status, 429, 'the fifth request from this address')
  const flood = await tokenRequest(server.url, { ...attempt, email: 'third@example.com' })
  t.equal(flood.status, 429)
  t.match(await flood.json(), { limit: { name: 'token_per_address', count: 5, window_seconds: 60 }, details: [{ field: 'client address' }] })
  t.equal(await refusals(server, 'token_per_email'), 1)
  t.equal(await refusals(server, 'token_per_address'), 1)
})

t.test('the API per access token and per account', async (t) => {
  const server = await startTestServer(t, { env: limited({ RATE_LIMIT_API_PER_TOKEN: '4/1m', RATE_LIMIT_API_PER_ACCOUNT: '6/1m' }) })
  const first = server.tokenFor('account-busy', { userId: 'user-1' })
  const second = server.tokenFor('account-busy', { userId: 'user-2' })
  for (let i = 0; i < 4; i++) t.equal((await apiGet(server.url, first)).status, 200)
  // through the helper: the 429 is checked against the OpenAPI document too
  const perToken = await server.api('GET', '/v1.1/things/types', { token: first })
  t.equal(perToken.status, 429)
  t.match(perToken.body, { error: 'rate_limited', limit: { name: 'api_per_token', count: 4, window_seconds: 60 }, details: [{ field: 'Authorization' }] })
  t.ok(Number(perToken.headers.get('retry-after')) >= 1)

  // The refused request still counted against the account: 5 of 6.
  t.equal((await apiGet(server.url, second)).status, 200, "another token of the account has its own budget, the account's is shared")
  const perAccount = await apiGet(server.url, second)
  t.equal(perAccount.status, 429)
  t.match(await perAccount.json(), { limit: { name: 'api_per_account', count: 6 }, details: [{ field: 'account_id' }] })
  t.equal((await apiGet(server.url, server.tokenFor('account-calm'))).status, 200, 'other accounts are not affected')
  t.equal((await fetch(`${server.url}/v1.1/things/types`)).status, 401, 'no token: 401 as before, not counted')
  t.equal(await refusals(server, 'api_per_token'), 1)
  t.equal(await refusals(server, 'api_per_account'), 1)
})

t.test('MQTT: a CONNECT flood gets CONNACK 3, logged with the reason', async (t) => {
  const { logger, lines } = capturedLogger()
  const server = await startTestServer(t, { logger, env: limited({ RATE_LIMIT_MQTT_CONNECT_PER_ADDRESS: '3/1m' }) })
  const account = await deviceAccount(server, { things: 1 })
  const url = server.capsicum.mqttUrl!
  t.equal(await connackCode(url, account.device(0)), 0)
  t.equal(await connackCode(url, { ...account.device(0), password: 'wrong' }), 4, 'failed attempts count too')
  t.equal(await connackCode(url, account.device(0)), 0)
  t.equal(await connackCode(url, account.device(0)), 3, 'the fourth CONNECT from this address within the minute')
  t.equal(await connackCode(url, { ...account.device(0), username: 'someone-else' }), 3, 'whatever the user name')
  const logged = lines.find((l) => l.msg === 'MQTT connection refused: rate limit')
  t.match(logged, { clientId: account.thingIds[0], reason: /more than 3 CONNECTs per 60 s from/ })
  t.equal(await refusals(server, 'mqtt_connect_per_address'), 2)
  const s = await scrape(`${server.url}/metrics`, { authorization: `Bearer ${metricsToken}` })
  t.equal(s.value('capsicum_mqtt_connects_refused_total', { reason: 'rate_limited' }), 2)
})

t.test('MQTT: CONNECTs per user name', async (t) => {
  const server = await startTestServer(t, { env: limited({ RATE_LIMIT_MQTT_CONNECT_PER_USERNAME: '2/1m' }) })
  const account = await deviceAccount(server, { things: 2 })
  const url = server.capsicum.mqttUrl!
  t.equal(await connackCode(url, account.device(0)), 0)
  t.equal(await connackCode(url, account.device(1)), 0)
  t.equal(await connackCode(url, account.device(1)), 3, 'a third CONNECT with these credentials')
  const other = await deviceAccount(server, { things: 1 })
  t.equal(await connackCode(url, other.device(0)), 0, 'other credentials are not affected')
})

t.test('MQTT: a fast QoS 1 publisher is slowed down (paused), not dropped, and loses nothing', async (t) => {
  const { logger, lines } = capturedLogger()
  const server = await startTestServer(t, { logger, env: limited({ RATE_LIMIT_MQTT_PUBLISH_PER_CONNECTION: '20/1s', RATE_LIMIT_MQTT_BYTES_PER_ACCOUNT: '300/1s' }) })
  const account = await deviceAccount(server, { things: 1 })
  const device = await connectDevice(t, server.capsicum.mqttUrl!, account.device(0))
  let closes = 0
  device.client.on('close', () => closes++)
  const readings = 100
  await Promise.all(Array.from({ length: readings }, (_, i) => device.publish(account.topic(0, 'data/1'), `temp,c=${i}`, { qos: 1 })))
  t.equal(closes, 0, 'the connection stayed up')
  t.ok(device.client.connected)

  const metrics = () => scrape(`${server.url}/metrics`, { authorization: `Bearer ${metricsToken}` })
  const s = await waitUntil(async () => {
    const s = await metrics()
    return s.value('capsicum_readings_recorded_total') >= readings ? s : undefined
  }, 'every reading to be recorded', 30_000)
  t.equal(s.value('capsicum_readings_recorded_total'), readings, 'every reading recorded, once')
  t.ok(s.value('capsicum_rate_limited_total', { limit: 'mqtt_publish_per_connection' }) >= 1, 'slowed by the per-connection limit')
  t.ok(s.value('capsicum_rate_limited_total', { limit: 'mqtt_bytes_per_account' }) >= 1, 'and by the account\'s bytes')
  const pauses = lines.filter((l) => l.msg === 'MQTT connection slowed down by a rate limit')
  t.ok(pauses.length >= 1, `the connection was paused ${pauses.length} times`)
  t.ok(pauses.every((p) => typeof p.pauseMs === 'number' && p.pauseMs > 0 && p.pauseMs <= 1000), 'each time until its window resets')
  const history = await server.api<{ points: { value: number }[] }>('GET', `/v1.1/things/${account.thingIds[0]}/data/1`, { token: account.token })
  t.strictSame(history.body.points.map((p) => p.value).sort((a, b) => a - b), Array.from({ length: readings }, (_, i) => i), 'all of them, in the history')
})

t.test('the API limits are counted from leases: every answer still says exactly what is left, and the limit holds at its count, in sequence and all at once', async (t) => {
  const server = await startTestServer(t, { env: limited({ RATE_LIMIT_API_PER_TOKEN: '100000/1m', RATE_LIMIT_API_PER_ACCOUNT: '300/1m' }) })
  const token = server.tokenFor('account-leased')
  const left: number[] = []
  for (let i = 0; i < 300; i++) {
    const res = await apiGet(server.url, token)
    t.equal(res.status, 200)
    left.push(Number(/"api_per_account";r=(\d+)/.exec(res.headers.get('ratelimit') ?? '')?.[1]))
  }
  t.strictSame(left, Array.from({ length: 300 }, (_, i) => 299 - i), 'RateLimit counts down by one per request')
  t.equal((await apiGet(server.url, token)).status, 429, 'the 301st is refused')

  const burst = server.tokenFor('account-burst')
  await apiGet(server.url, server.tokenFor('account-burst')) // the window is known: the burst is served from leases
  const statuses = await Promise.all(Array.from({ length: 400 }, () => apiGet(server.url, burst).then((res) => res.status)))
  t.equal(statuses.filter((status) => status === 200).length, 299, '300 per account, the first included, however many come at once')
  t.equal(statuses.filter((status) => status === 429).length, 101)
})

t.test('two nodes sharing Redis share the counts', async (t) => {
  const prefix = `capsicum-test-${randomUUID().slice(0, 8)}:ratelimit`
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const env = {
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    REDIS_URL: 'redis://127.0.0.1:6379',
    RATE_LIMIT_REDIS_PREFIX: prefix,
    JWT_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    RATE_LIMITS: 'on',
    RATE_LIMIT_TOKEN_PER_EMAIL: '3/1m',
    RATE_LIMIT_API_PER_ACCOUNT: '5/1m',
  }
  // API nodes only: no MQTT broker, so the MQTT cluster mode's Redis keys are not touched.
  const nodes = await Promise.all(
    [0, 1].map(async () => {
      const node = await startCapsicum(loadConfig({ ...env, DATA_DIR: tempDataDir(t) }), { roles: ['api'] })
      t.teardown(() => node.close())
      return node
    }),
  )
  const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]]
  const attempt = { grant_type: 'password', email: `shared-${randomUUID()}@example.com`, password: 'wrong-password', client_id: randomUUID() }
  t.not((await tokenRequest(a.url, attempt)).status, 429)
  t.not((await tokenRequest(b.url, attempt)).status, 429)
  t.not((await tokenRequest(a.url, attempt)).status, 429)
  const refused = await tokenRequest(b.url, attempt)
  t.equal(refused.status, 429, 'the fourth attempt, on the other node')
  t.match(await refused.json(), { limit: { name: 'token_per_email', count: 3 } })

  const token = a.tokens.sign({ sub: 'user-shared', account_id: `account-${randomUUID()}`, roles: [], user_id: 'user-shared' })
  const statuses: number[] = []
  for (const node of [a, b, a, b, a, b]) statuses.push((await apiGet(node.url, token)).status)
  t.strictSame(statuses, [200, 200, 200, 200, 200, 429], 'five per account across both nodes, then 429')
})
