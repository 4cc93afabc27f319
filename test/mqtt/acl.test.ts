/**
 * The topic ACL: a connection publishes and subscribes only under
 * `v1/{its username}/things/...`; anything else is refused and logged.
 */
import { Writable } from 'node:stream'
import { pino } from 'pino'
import t from 'tap'
import { connectDevice, deviceAccount } from '../helpers/mqtt.ts'
import { startTestServer } from '../helpers/server.ts'

interface LogLine {
  msg: string
  clientId?: string
  topic?: string
  username?: string
}

t.test('topic ACL', async (t) => {
  const lines: LogLine[] = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as LogLine)
      done()
    },
  })
  const server = await startTestServer(t, { logger: pino({ level: 'info' }, sink) })
  const url = server.capsicum.mqttUrl!
  const alice = await deviceAccount(server, { things: 2 })
  const bob = await deviceAccount(server, { things: 2 })
  const logged = (msg: RegExp, clientId: string, topic: string) =>
    lines.some((l) => msg.test(l.msg) && l.clientId === clientId && l.topic === topic)

  await t.test('subscriptions under the own username are granted, others refused (SUBACK 0x80)', async (t) => {
    const device = await connectDevice(t, url, alice.device(0))
    const filters = [
      alice.topic(0, 'cmd/+'),
      alice.topic(1, 'cmd/+'),
      `v1/${alice.username}/things/#`,
      `v1/${alice.username}/things/+/data/+`,
      bob.topic(0, 'cmd/+'),
      `v1/+/things/#`,
      `v1/${alice.username}/#`,
      `v1/${alice.username}/+/x`,
      '#',
      '$SYS/#',
      `v1/${alice.username}/things`,
    ]
    const granted = await device.subscribe(filters, 1)
    t.strictSame(granted, [1, 1, 1, 1, 128, 128, 128, 128, 128, 128, 128])
    for (const filter of filters.slice(4)) {
      t.ok(logged(/subscribe refused/, alice.thingIds[0]!, filter), `the refusal of ${filter} is logged with client id and topic`)
    }
    t.ok(device.client.connected, 'a refused subscription does not end the connection')
  })

  await t.test('MQTT 3.1 gets the same answer', async (t) => {
    const device = await connectDevice(t, url, { ...alice.device(0), protocolVersion: 3 })
    t.strictSame(await device.subscribe([alice.topic(0, 'cmd/+'), bob.topic(0, 'cmd/+')]), [0, 128])
  })

  await t.test("a publish to another account's topics is dropped, logged, and ends the connection", async (t) => {
    const victim = await connectDevice(t, url, bob.device(0))
    t.strictSame(await victim.subscribe(bob.topic(0, '#'), 1), [1])
    const intruder = await connectDevice(t, url, alice.device(0))
    const closed = intruder.closed('the intruding connection to be closed')
    intruder.client.publish(bob.topic(0, 'cmd/1'), '1,open the door', { qos: 1 })
    await closed
    t.ok(logged(/publish refused/, alice.thingIds[0]!, bob.topic(0, 'cmd/1')), 'the refusal is logged with client id and topic')
    // Bob's own publish arrives; the intruder's, sent before it, never did.
    const bobDevice = await connectDevice(t, url, bob.device(1))
    await bobDevice.publish(bob.topic(0, 'data/1'), '1', { qos: 1 })
    await victim.nextMessage((m) => m.topic === bob.topic(0, 'data/1'), "bob's own publish")
    t.notOk(victim.messages.some((m) => m.topic.endsWith('/cmd/1')), 'the intruder\'s command never reached bob')
  })

  await t.test('publishing outside v1/{username}/things/ is refused too', async (t) => {
    for (const topic of ['random/topic', `v1/${alice.username}/other`, `v1/${alice.username}/things`]) {
      const device = await connectDevice(t, url, alice.device(1))
      const closed = device.closed(`the connection publishing to ${topic} to be closed`)
      device.client.publish(topic, 'x')
      await closed
      t.ok(logged(/publish refused/, alice.thingIds[1]!, topic), `${topic} refused and logged`)
    }
  })
})
