/**
 * The Aedes bridge: every device publish on a telemetry topic becomes ONE record on the
 * telemetry stream, keyed by thing id; what cannot be read is kept as `rejected`;
 * device-bound topics are routed, not recorded; connections are recorded too.
 */
import t from 'tap'
import { messageOfRecord, type TelemetryMessage } from '../../domain/telemetry/telemetry-message.ts'
import { connectDevice, deviceAccount, mosquitto, hostAndPort, TelemetryWatcher } from '../helpers/mqtt.ts'
import { startTestServer } from '../helpers/server.ts'

t.test('telemetry from MQTT', async (t) => {
  const clock = new Date('2026-06-01T10:00:00.000Z')
  const server = await startTestServer(t, { now: () => clock })
  const url = server.capsicum.mqttUrl!
  const alice = await deviceAccount(server, { things: 2 })
  const watcher = new TelemetryWatcher(t, server.capsicum.telemetry)
  const thingId = alice.thingIds[0]!
  const device = await connectDevice(t, url, alice.device(0))
  const on = (topic: string) => (m: TelemetryMessage) => 'topic' in m && m.topic === topic

  await t.test('the connection is recorded, with the username it used', async (t) => {
    const { message, record } = await watcher.next((m) => m.kind === 'connected' && m.thingId === thingId, 'the connected record')
    t.strictSame(message, { kind: 'connected', thingId, accountId: alice.accountId, receivedAt: clock.toISOString(), username: alice.username })
    t.equal(record.key, thingId)
    t.equal(record.timestamp, clock.getTime())
  })

  await t.test('every telemetry topic produces its record (QoS 0 and 1)', async (t) => {
    const cases: [string, string, Record<string, unknown>][] = [
      ['data/2', 'temp,c=20.7', { kind: 'readings', readings: [{ channel: '2', type: 'temp', unit: 'c', value: 20.7 }] }],
      ['data/3', '42', { kind: 'readings', readings: [{ channel: '3', value: 42 }] }],
      ['data/json', '[{"channel":1,"value":16.4,"type":"temp","unit":"c"}]', { kind: 'readings', readings: [{ channel: '1', type: 'temp', unit: 'c', value: 16.4 }] }],
      ['digital/4', '1', { kind: 'readings', readings: [{ channel: '4', value: 1 }] }],
      ['analog/5', '0.5', { kind: 'readings', readings: [{ channel: '5', value: 0.5 }] }],
    ]
    for (const [suffix, payload, expected] of cases) {
      const topic = alice.topic(0, suffix)
      await device.publish(topic, payload, { qos: 1 })
      const { message, record } = await watcher.next(on(topic), `the record of ${suffix}`)
      t.match(message, { ...expected, thingId, accountId: alice.accountId, source: 'mqtt', topic, receivedAt: clock.toISOString() }, `${suffix} ${payload}`)
      t.equal(record.key, thingId)
    }
    await device.publish(alice.topic(0, 'response'), 'ok,5')
    t.match((await watcher.next((m) => m.kind === 'response' && m.seq === '5', 'the ok response')).message, { kind: 'response', thingId, seq: '5', ok: true, message: null })
    await device.publish(alice.topic(0, 'response'), 'error,6=Bad param', { qos: 1 })
    t.match((await watcher.next((m) => m.kind === 'response' && m.seq === '6', 'the error response')).message, { ok: false, message: 'Bad param' })
    await device.publish(alice.topic(0, 'sys/model'), 'Python', { qos: 1 })
    t.match((await watcher.next((m) => m.kind === 'sys' && m.key === 'model', 'sys/model')).message, { kind: 'sys', thingId, value: 'Python' })
    await device.publish(alice.topic(0, 'sys/cpu/speed'), '1000000000')
    t.match((await watcher.next((m) => m.kind === 'sys' && m.key === 'cpu/speed', 'sys/cpu/speed')).message, { value: '1000000000' })
  })

  await t.test('what cannot be read is kept as rejected, with the payload (at most 4 KiB) and the reason', async (t) => {
    const garbage = Buffer.from([0xff, 0xfe, 0x00, 0x41])
    await device.publish(alice.topic(0, 'data/6'), garbage, { qos: 1 })
    const { message } = await watcher.next(on(alice.topic(0, 'data/6')), 'the rejected record')
    t.match(message, { kind: 'rejected', thingId, source: 'mqtt', reason: /\S/ })
    t.equal(message.kind === 'rejected' && message.payload, garbage.toString('base64'))

    const big = Buffer.alloc(10_000, 'x')
    await device.publish(alice.topic(0, 'data/json'), big, { qos: 1 })
    const large = await watcher.next((m) => m.kind === 'rejected' && m.topic === alice.topic(0, 'data/json'), 'the large rejected record')
    t.equal(large.message.kind === 'rejected' && Buffer.from(large.message.payload, 'base64').length, 4096)
    t.ok(device.client.connected, 'the device stays connected')
  })

  await t.test('a gateway publishes for another thing of its account; an unknown thing is rejected', async (t) => {
    const child = alice.thingIds[1]!
    await device.publish(alice.topic(1, 'data/1'), 'temp,c=5', { qos: 1 })
    const { message, record } = await watcher.next(on(alice.topic(1, 'data/1')), "the child's reading")
    t.match(message, { kind: 'readings', thingId: child, accountId: alice.accountId })
    t.equal(record.key, child)
    const stranger = crypto.randomUUID()
    const topic = `v1/${alice.username}/things/${stranger}/data/1`
    await device.publish(topic, '1', { qos: 1 })
    const unknown = await watcher.next(on(topic), 'the unknown thing record')
    t.match(unknown.message, { kind: 'rejected', thingId: stranger, reason: 'unknown thing' })
    t.equal(unknown.record.key, stranger)
  })

  await t.test('device-bound topics are routed, not recorded', async (t) => {
    await device.subscribe(alice.topic(0, 'cmd/+'))
    await device.publish(alice.topic(0, 'cmd/10'), 'senderror,0', { qos: 1 })
    await device.nextMessage((m) => m.topic === alice.topic(0, 'cmd/10'), 'the command echo')
    // one thing's records keep their order: once this marker is there, a cmd record would be too
    await device.publish(alice.topic(0, 'data/8'), 'marker', { qos: 1 })
    await watcher.next(on(alice.topic(0, 'data/8')), 'the marker')
    t.notOk(watcher.messages.some((m) => 'topic' in m && m.topic?.includes('/cmd/')), 'no record for the cmd topic')
  })

  await t.test('mosquitto_pub over MQTT 3.1 (QoS 1, retained, as the C libraries publish)', async (t) => {
    const { host, port } = hostAndPort(url)
    const topic = alice.topic(1, 'data/2')
    const pub = await mosquitto('mosquitto_pub', ['-V', 'mqttv31', '-h', host, '-p', port, '-u', alice.username, '-P', alice.password, '-i', alice.thingIds[1]!, '-t', topic, '-m', 'rel_hum,p=7.700', '-q', '1', '-r'])
    t.equal(pub.code, 0, pub.stderr)
    t.match((await watcher.next(on(topic), 'the mosquitto reading')).message, { kind: 'readings', readings: [{ channel: '2', type: 'rel_hum', unit: 'p', value: 7.7 }] })
  })

  await t.test('thousands of QoS 1 publishes in flight at once are all acknowledged and recorded', async (t) => {
    const burst = 3000
    const topic = alice.topic(0, 'data/11')
    const acks = await Promise.all(Array.from({ length: burst }, (_, i) => device.publish(topic, String(i), { qos: 1 }).then(() => i)))
    t.equal(acks.length, burst, 'every publish was acknowledged')
    await watcher.next((m) => m.kind === 'readings' && m.topic === topic && m.readings[0]?.value === burst - 1, 'the last of the burst')
    const values = new Set(watcher.messages.flatMap((m) => (m.kind === 'readings' && m.topic === topic ? m.readings.map((r) => r.value) : [])))
    t.equal(values.size, burst, 'one record each')
    t.ok(device.client.connected, 'the connection survived the burst')
  })

  await t.test('the disconnection is recorded', async (t) => {
    await device.end()
    const { message } = await watcher.next((m) => m.kind === 'disconnected' && m.thingId === thingId, 'the disconnected record')
    t.match(message, { kind: 'disconnected', username: alice.username, accountId: alice.accountId })
  })

  await t.test('a record read from memory hands over its message as the record read back from the table says it', async (t) => {
    // the processor takes `message` instead of parsing `value`: the two must never differ
    const handedOver = watcher.records.filter((record) => record.message !== undefined)
    t.equal(handedOver.length, watcher.records.length, 'every record the bridge wrote carries its message')
    const readBack = handedOver.map(({ key, value, timestamp }) => messageOfRecord({ key, value, timestamp }))
    t.strictSame(handedOver.map((record) => record.message), readBack)
    const storedTexts = handedOver.map((record) => JSON.parse(record.value) as object)
    t.notOk(storedTexts.some((text) => 'thingId' in text || 'receivedAt' in text), 'the stored text leaves out the thing id and the time (the key and the timestamp)')
  })
})

t.test('LPP binary for a thing whose provisioning codec is lpp', async (t) => {
  const server = await startTestServer(t)
  const maker = server.tokenFor('account-maker')
  const batch = await server.api('POST', '/v1.1/things/registry/batch', { token: maker, body: { hardware_ids: ['LORA-LPP-1'], codec: 'lpp' } })
  t.equal(batch.status, 201, batch.text)
  const user = server.tokenFor('account-farm', { userId: 'user-farmer' })
  const paired = await server.api<{ id: string }>('POST', '/v1.1/things/pair', { token: user, body: { hardware_id: 'LORA-LPP-1' } })
  t.equal(paired.status, 200, paired.text)
  const credentials = await server.api<{ id: string; clear_secret: string }>('POST', '/v1.1/clients', { token: user })
  const watcher = new TelemetryWatcher(t, server.capsicum.telemetry)
  const device = await connectDevice(t, server.capsicum.mqttUrl!, { clientId: paired.body.id, username: credentials.body.id, password: credentials.body.clear_secret })
  const topic = `v1/${credentials.body.id}/things/${paired.body.id}/data/0`
  await device.publish(topic, Buffer.from('03670110056700ff', 'hex'), { qos: 1 })
  const { message } = await watcher.next((m) => m.kind !== 'connected' && m.thingId === paired.body.id, 'the LPP readings')
  t.match(message, { kind: 'readings', readings: [{ channel: '3', value: 27.2 }, { channel: '5', value: 25.5 }] })
})
