/** POST /v1.1/things/{thingId}/data: devices send readings over HTTP with their MQTT credentials. */
import t from 'tap'
import { messageOfRecord } from '../../domain/telemetry/telemetry-message.ts'
import type { TelemetryRecord } from '../../domain/ports/telemetry-stream.ts'
import { within } from '../helpers/async.ts'
import { deviceAccount } from '../helpers/mqtt.ts'
import { startTestServer } from '../helpers/server.ts'
import { settled } from './fixtures.ts'
import { recordedReadingsOf } from '../../domain/telemetry/telemetry.ts'

const basic = (username: string, password: string) => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`

t.test('HTTP ingest with HTTP Basic = the MQTT username and password', async (t) => {
  const clock = new Date('2026-05-01T12:00:00.000Z')
  const server = await startTestServer(t, { now: () => clock })
  const account = await deviceAccount(server, { things: 2 })
  const thingId = account.thingIds[0]!
  const auth = basic(account.username, account.password)
  const post = (path: string, body: unknown, headers: Record<string, string> = { authorization: auth }) =>
    server.api<{ success?: boolean; error?: string; details?: { field: string; problem: string }[] }>('POST', path, { body, headers })
  await t.test('readings are accepted once durably on the telemetry stream, as the bridge writes them', async (t) => {
    const res = await post(`/v1.1/things/${thingId}/data`, [
      { channel: 1, value: 16.4, type: 'temp', unit: 'c' },
      { channel: '2', value: 1 },
    ])
    t.equal(res.status, 200)
    t.strictSame(res.body, { success: true })
    // What is on the stream right after the answer, read by a consumer of its own.
    const partition = server.capsicum.telemetry.partitionFor(thingId)
    const seen: TelemetryRecord[] = []
    const probe = server.capsicum.telemetry.consume({ groupId: 'probe' }, async (batch) => void seen.push(...batch.records))
    await within((async () => { while (seen.length === 0) await new Promise((r) => setTimeout(r, 10)) })(), 'the record', 20_000)
    await probe.stop()
    t.equal(seen[0]!.partition, partition)
    t.equal(seen[0]!.key, thingId)
    t.equal(seen[0]!.timestamp, clock.getTime())
    const message = messageOfRecord(seen[0]!)
    const { thingId: _thingId, receivedAt: _receivedAt, ...stored } = message!
    t.strictSame(JSON.parse(seen[0]!.value), stored, 'the stored text leaves out the thing id and the time, which are the key and the timestamp')
    t.strictSame(message, {
      kind: 'readings',
      source: 'http',
      topic: null,
      thingId,
      accountId: account.accountId,
      receivedAt: clock.toISOString(),
      readings: [
        { channel: '1', type: 'temp', unit: 'c', value: 16.4 },
        { channel: '2', type: null, unit: null, value: 1 },
      ],
      // the body, kept for re-decoding
      payload: Buffer.from(JSON.stringify([{ channel: 1, value: 16.4, type: 'temp', unit: 'c' }, { channel: '2', value: 1 }])).toString('base64'),
    })
    await settled(server, [{ partition, offset: seen[0]!.offset }])
    const latest = await server.api<{ channel: string; value: unknown }[]>('GET', `/v1.1/things/${thingId}/data`, { token: account.token })
    t.strictSame(latest.body.map((r) => [r.channel, r.value]), [['1', 16.4], ['2', 1]], 'and recorded')
    const events = await server.capsicum.eventStore.readStream(`telemetry-${thingId}`)
    t.equal(recordedReadingsOf(events[0]!)[0]!.source, 'http')
  })

  await t.test('the path of the Cayenne docs works too', async (t) => {
    const res = await server.api('POST', `/things/${thingId}/data`, { body: [{ channel: 5, value: 3, type: 'lum', unit: 'lux' }], headers: { authorization: auth } })
    t.equal(res.status, 200)
  })

  await t.test('no or wrong credentials: 401 with a Basic challenge', async (t) => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: basic(account.username, 'wrong') },
      { authorization: basic('nobody', account.password) },
      { authorization: 'Basic !!!' },
      { authorization: `Bearer ${account.token}` },
    ]
    for (const headers of attempts) {
      const res = await post(`/v1.1/things/${thingId}/data`, [{ channel: 1, value: 1 }], headers)
      t.equal(res.status, 401)
      t.match(res.headers.get('www-authenticate'), /^Basic realm=/)
      t.equal(res.body.error, 'invalid_credentials')
    }
  })

  await t.test('a thing of another account, or deactivated: 403', async (t) => {
    const other = await deviceAccount(server, { things: 1 })
    t.equal((await post(`/v1.1/things/${other.thingIds[0]}/data`, [{ channel: 1, value: 1 }])).status, 403)
    t.equal((await post(`/v1.1/things/not-a-thing/data`, [{ channel: 1, value: 1 }])).status, 403)
    const second = account.thingIds[1]!
    t.equal((await server.api('DELETE', `/v1.1/things/${second}`, { token: account.token })).status, 200)
    const res = await post(`/v1.1/things/${second}/data`, [{ channel: 1, value: 1 }])
    t.equal(res.status, 403)
    t.equal(res.body.error, 'not_authorized')
  })

  await t.test('bad items: 400 naming the item and the field, nothing recorded', async (t) => {
    const stream = `telemetry-${thingId}`
    const before = (await server.capsicum.eventStore.readStream(stream)).length
    const bad = await post(`/v1.1/things/${thingId}/data`, [{ channel: 1, value: 1 }, { channel: 2, value: { nested: true } }])
    t.equal(bad.status, 400)
    t.equal(bad.body.details?.[0]?.field, 'body[1].value')
    const noChannel = await post(`/v1.1/things/${thingId}/data`, [{ value: 1 }])
    t.equal(noChannel.body.details?.[0]?.field, 'body[0].channel')
    t.equal((await post(`/v1.1/things/${thingId}/data`, [])).status, 400, 'an empty array')
    const text = await server.api('POST', `/v1.1/things/${thingId}/data`, { rawBody: 'temp,c=20', headers: { authorization: auth, 'content-type': 'text/plain' } })
    t.equal(text.status, 400, 'a body that is not JSON')
    const malformed = await server.api('POST', `/v1.1/things/${thingId}/data`, { rawBody: '[{', headers: { authorization: auth, 'content-type': 'application/json' } })
    t.equal(malformed.status, 400)
    // A good post after them: once it is recorded, everything before it would have been too.
    t.equal((await post(`/v1.1/things/${thingId}/data`, [{ channel: 7, value: 7 }])).status, 200)
    const recorded = async () => {
      for (;;) {
        const events = await server.capsicum.eventStore.readStream(stream)
        if (events.some((e) => recordedReadingsOf(e).some((r) => r.channel === '7'))) return events
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    }
    const after = await within(recorded(), 'the good reading to be recorded', 20_000)
    t.strictSame(after.slice(before).flatMap((e) => recordedReadingsOf(e).map((r) => r.channel)), ['7'], 'only the good reading was recorded')
  })
})
