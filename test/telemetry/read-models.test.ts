/** What readings change in the read models: the thing's last_online and device info, and the latest value per channel. */
import t from 'tap'
import { deviceAccount } from '../helpers/mqtt.ts'
import { startTestServer } from '../helpers/server.ts'
import { feed, readingsOf, reading } from './fixtures.ts'

interface Latest {
  channel: string
  value: unknown
  type: string | null
  unit: string | null
  timestamp: string
}

t.test('last_online, device info and the latest reading of each channel', async (t) => {
  const server = await startTestServer(t)
  const account = await deviceAccount(server, { things: 2 })
  const thingId = account.thingIds[0]!
  const device = { thingId, accountId: account.accountId }
  const thing = () => server.api<{ last_online: number; [key: string]: unknown }>('GET', `/v1.1/things/${thingId}`, { token: account.token })
  const latest = () => server.api<Latest[]>('GET', `/v1.1/things/${thingId}/data`, { token: account.token })

  await t.test('before any reading', async (t) => {
    t.equal((await thing()).body.last_online, 0)
    t.strictSame((await latest()).body, [])
  })

  await feed(server, [
    { kind: 'connected', username: account.username, ...device, receivedAt: '2026-05-01T09:59:00.000Z' },
    readingsOf(device, '2026-05-01T10:00:00.000Z', [reading('10', 1, 'digital_sensor', 'd'), reading('2', 20.5), reading('sys:cpu;load', 'high', null, null)]),
    { kind: 'sys', key: 'model', value: 'Python', ...device, receivedAt: '2026-05-01T10:00:01.000Z' },
    { kind: 'sys', key: 'version', value: '1.1.0', ...device, receivedAt: '2026-05-01T10:00:01.000Z' },
    readingsOf(device, '2026-05-01T10:05:00.000Z', [reading('2', 21.25), reading('3', [1.5, -2, 0.25], 'accel', 'g')]),
    readingsOf(device, '2026-05-01T10:06:00.000Z', [reading('2', 22)]),
    readingsOf(device, '2026-05-01T10:06:30.000Z', [reading('2', 23)]),
  ])

  await t.test('last_online is the time of the newest fact, in ms since the epoch', async (t) => {
    t.equal((await thing()).body.last_online, Date.parse('2026-05-01T10:06:30.000Z'))
    const listed = await server.api<{ id: string; last_online: number }[]>('GET', '/v1.1/things', { token: account.token })
    t.equal(listed.body.find((x) => x.id === thingId)!.last_online, Date.parse('2026-05-01T10:06:30.000Z'))
    const other = listed.body.find((x) => x.id === account.thingIds[1])!
    t.equal(other.last_online, 0, 'the other thing said nothing')
  })

  await t.test('a disconnection moves last_online; a fact older than it does not move it back', async (t) => {
    await feed(server, [
      { kind: 'disconnected', username: account.username, ...device, receivedAt: '2026-05-01T10:07:00.000Z' },
      readingsOf(device, '2026-05-01T10:01:00.000Z', [reading('9', 0)]),
    ])
    t.equal((await thing()).body.last_online, Date.parse('2026-05-01T10:07:00.000Z'))
  })

  await t.test('a PUT answers the thing with its last_online too', async (t) => {
    const res = await server.api<{ last_online: number }>('PUT', `/v1.1/things/${thingId}`, { token: account.token, body: { name: 'Renamed' } })
    t.equal(res.status, 200)
    t.equal(res.body.last_online, Date.parse('2026-05-01T10:07:00.000Z'))
  })

  await t.test('the sys facts are kept on the thing, outside the API view', async (t) => {
    const doc = await server.capsicum.readStore.collection('things').get(thingId)
    t.strictSame(doc?.device_info, { model: 'Python', version: '1.1.0' })
    t.notOk('device_info' in (await thing()).body, 'the API text has no field for it')
  })

  await t.test('GET /v1.1/things/{id}/data: the latest reading per channel, channels in natural order', async (t) => {
    const res = await latest()
    t.equal(res.status, 200)
    t.strictSame(res.body, [
      { channel: '2', value: 23, type: 'temp', unit: 'c', timestamp: '2026-05-01T10:06:30.000Z' },
      { channel: '3', value: [1.5, -2, 0.25], type: 'accel', unit: 'g', timestamp: '2026-05-01T10:05:00.000Z' },
      { channel: '9', value: 0, type: 'temp', unit: 'c', timestamp: '2026-05-01T10:01:00.000Z' },
      { channel: '10', value: 1, type: 'digital_sensor', unit: 'd', timestamp: '2026-05-01T10:00:00.000Z' },
      { channel: 'sys:cpu;load', value: 'high', type: null, unit: null, timestamp: '2026-05-01T10:00:00.000Z' },
    ])
  })

  await t.test('another account sees none of it', async (t) => {
    const stranger = server.tokenFor('account-stranger')
    t.equal((await server.api('GET', `/v1.1/things/${thingId}/data`, { token: stranger })).status, 404)
    t.equal((await server.api('GET', `/v1.1/things/${thingId}/data/2`, { token: stranger })).status, 404)
    t.equal((await server.api('GET', `/v1.1/things/${crypto.randomUUID()}/data`, { token: account.token })).status, 404)
    t.equal((await server.api('GET', `/v1.1/things/${thingId}/data`)).status, 401)
  })

  await t.test('telemetry does not move the ETag of the thing: it is no change of the thing', async (t) => {
    const res = await thing()
    t.equal(res.headers.get('etag'), '"1"', 'the one PUT moved it, the readings did not')
  })
})
