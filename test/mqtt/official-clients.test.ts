/**
 * What the official Cayenne test clients expect from a server (protocol doc, 1.7): they
 * publish into command topics and wait for their own messages to come back.
 */
import t from 'tap'
import { connectDevice, deviceAccount } from '../helpers/mqtt.ts'
import { startTestServer } from '../helpers/server.ts'

t.test('the official test clients', async (t) => {
  const server = await startTestServer(t)
  const url = server.capsicum.mqttUrl!
  const account = await deviceAccount(server, { things: 2 })

  await t.test('Python Test-01-TestClient: data on 0..6, then its own cmd/10..12 come back', async (t) => {
    // paho, MQTT 3.1.1, clean session, QoS 0, subscribes cmd/+ in on_connect
    const device = await connectDevice(t, url, { ...account.device(0), protocolVersion: 4, clean: true, keepalive: 60 })
    t.strictSame(await device.subscribe(account.topic(0, 'cmd/+'), 0), [0])
    const data = ['0', 'temp,c=1', 'temp,f=2', 'temp,k=3', 'lum,lux=4', 'bp,pa=5', 'bp,hpa=6']
    for (const [channel, payload] of data.entries()) await device.publish(account.topic(0, `data/${channel}`), payload)
    const commands: [number, string][] = [[10, 'senderror,0'], [11, 'sendok,1'], [12, 'done,1']]
    for (const [channel, payload] of commands) await device.publish(account.topic(0, `cmd/${channel}`), payload)
    for (const [channel, payload] of commands) {
      const message = await device.nextMessage((m) => m.topic === account.topic(0, `cmd/${channel}`), `cmd/${channel} back`, 10_000)
      t.equal(message.text, payload, `cmd/${channel} came back within 10 s`)
    }
  })

  await t.test('C testclient: MQTT 3.1, retained data, an alternate client id of the same account', async (t) => {
    const device = await connectDevice(t, url, { ...account.device(1), protocolVersion: 3, clean: true })
    const alternate = account.thingIds[0]!
    const filters = [
      account.topic(1, 'cmd/+'),
      `v1/${account.username}/things/${alternate}/cmd/+`,
      account.topic(1, 'data/+'),
      account.topic(1, 'sys/model'),
      account.topic(1, 'sys/version'),
    ]
    t.strictSame(await device.subscribe(filters, 0), [0, 0, 0, 0, 0])
    const sent: [string, string][] = [
      ...['temp,c=30.000', 'temp,f=86.000', 'temp,k=303.150', 'lum,lux=1000.000', 'bp,pa=102000.000', 'bp,hpa=1020.000', 'rel_hum,p=50.000'].map(
        (payload, i): [string, string] => [account.topic(1, `data/${i}`), payload],
      ),
      [account.topic(1, 'sys/model'), 'Model'],
      [account.topic(1, 'sys/version'), '1.0.0'],
      [account.topic(1, 'cmd/0'), '1,respond with error'],
      [account.topic(1, 'cmd/1'), '2,respond with ok'],
      [`v1/${account.username}/things/${alternate}/cmd/2`, '1,alternate clientID'],
    ]
    for (const [topic, payload] of sent) await device.publish(topic, payload, { qos: 0, retain: !topic.includes('/cmd/') })
    for (const [topic, payload] of sent) {
      const message = await device.nextMessage((m) => m.topic === topic && m.text === payload, `${topic} back`, 5_000)
      t.ok(message, `${topic.split('/things/')[1]} echoed`)
    }
    await device.client.unsubscribeAsync(filters)
  })
})
