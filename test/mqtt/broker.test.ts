/**
 * Plain broker behaviour devices rely on (protocol doc, section 4.4): delivery back to
 * the sender, retained messages, wildcards, QoS 0 and 1, persistent sessions; and the
 * transports: TCP, WebSocket at /mqtt, TLS; and the Debian mosquitto clients speaking
 * MQTT 3.1.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import mqtt from 'mqtt'
import t from 'tap'
import { within } from '../helpers/async.ts'
import { connectDevice, deviceAccount, hostAndPort, mosquitto } from '../helpers/mqtt.ts'
import { startTestServer, tempDataDir } from '../helpers/server.ts'

t.test('broker behaviour', async (t) => {
  const server = await startTestServer(t)
  const url = server.capsicum.mqttUrl!
  const alice = await deviceAccount(server, { things: 3 })

  await t.test('a publish comes back to its sender (QoS 0 and 1, MQTT 3.1 and 3.1.1)', async (t) => {
    for (const protocolVersion of [3, 4] as const) {
      const device = await connectDevice(t, url, { ...alice.device(0), protocolVersion })
      await device.subscribe(alice.topic(0, 'data/+'), 1)
      await device.publish(alice.topic(0, 'data/1'), `v${protocolVersion} qos0`)
      await device.publish(alice.topic(0, 'data/2'), `v${protocolVersion} qos1`, { qos: 1 })
      t.equal((await device.nextMessage((m) => m.text === `v${protocolVersion} qos0`, 'the QoS 0 echo')).qos, 0)
      t.equal((await device.nextMessage((m) => m.text === `v${protocolVersion} qos1`, 'the QoS 1 echo')).qos, 1)
      await device.end()
    }
  })

  await t.test('a retained message reaches a later subscriber', async (t) => {
    const publisher = await connectDevice(t, url, alice.device(0))
    await publisher.publish(alice.topic(0, 'data/7'), 'temp,c=21.5', { qos: 1, retain: true })
    const later = await connectDevice(t, url, alice.device(1))
    await later.subscribe(alice.topic(0, 'data/7'))
    const message = await later.nextMessage((m) => m.topic === alice.topic(0, 'data/7'), 'the retained message')
    t.equal(message.text, 'temp,c=21.5')
    t.equal(message.retain, true)
  })

  await t.test('+ and # wildcards match', async (t) => {
    const watcher = await connectDevice(t, url, alice.device(2))
    t.strictSame(await watcher.subscribe([`v1/${alice.username}/things/+/data/+`, `v1/${alice.username}/things/${alice.thingIds[1]}/#`]), [0, 0])
    const device = await connectDevice(t, url, alice.device(1))
    await device.publish(alice.topic(1, 'data/3'), '3', { qos: 1 })
    await device.publish(alice.topic(1, 'sys/cpu/model'), 'ARM', { qos: 1 })
    await watcher.nextMessage((m) => m.topic === alice.topic(1, 'data/3'), 'the + match')
    await watcher.nextMessage((m) => m.topic === alice.topic(1, 'sys/cpu/model'), 'the # match')
    await device.publish(alice.topic(0, 'data/9'), 'nine', { qos: 1 })
    await watcher.nextMessage((m) => m.topic === alice.topic(0, 'data/9'), "another thing's data through +")
  })

  await t.test('messages overtaking each other inside the broker are all delivered, duplicates are not', async (t) => {
    // aedes#955/#994: a retained (or QoS 1) publish is emitted after a plain QoS 0 one sent
    // right behind it; aedes' own dedupe then dropped the first for every subscriber of both
    const device = await connectDevice(t, url, alice.device(2))
    await device.subscribe([alice.topic(2, 'data/+'), alice.topic(2, 'cmd/+')])
    await Promise.all([
      device.publish(alice.topic(2, 'data/1'), 'retained first', { retain: true }),
      device.publish(alice.topic(2, 'data/2'), 'qos 1 second', { qos: 1 }),
      device.publish(alice.topic(2, 'cmd/3'), 'plain third'),
    ])
    for (const text of ['retained first', 'qos 1 second', 'plain third']) await device.nextMessage((m) => m.text === text, text)
    const overlapping = await connectDevice(t, url, alice.device(1))
    await overlapping.subscribe([alice.topic(2, 'data/#'), alice.topic(2, 'data/5'), `v1/${alice.username}/things/+/data/5`])
    await device.publish(alice.topic(2, 'data/5'), 'once', { qos: 1 })
    await device.publish(alice.topic(2, 'data/6'), 'after', { qos: 1 })
    await overlapping.nextMessage((m) => m.text === 'after', 'the message after')
    t.equal(overlapping.messages.filter((m) => m.text === 'once').length, 1, 'three matching subscriptions, one copy')
  })

  await t.test('a persistent session (clean=false) keeps QoS 1 messages while the device is away', async (t) => {
    const device = await connectDevice(t, url, { ...alice.device(1), clean: false })
    await device.subscribe(alice.topic(1, 'cmd/+'), 1)
    await device.end()
    const sender = await connectDevice(t, url, alice.device(0))
    await sender.publish(alice.topic(1, 'cmd/4'), 'away,1', { qos: 1 })
    const back = await connectDevice(t, url, { ...alice.device(1), clean: false })
    t.equal((await back.nextMessage((m) => m.topic === alice.topic(1, 'cmd/4'), 'the queued message')).text, 'away,1')
  })

  await t.test('WebSocket at /mqtt on the HTTP port', async (t) => {
    const wsUrl = `${server.url.replace(/^http/, 'ws')}/mqtt`
    const device = await connectDevice(t, wsUrl, alice.device(2))
    await device.subscribe(alice.topic(2, 'data/+'))
    await device.publish(alice.topic(2, 'data/1'), 'over ws', { qos: 1 })
    t.equal((await device.nextMessage((m) => m.text === 'over ws', 'the echo over WebSocket')).topic, alice.topic(2, 'data/1'))
    const refused = mqtt.connect(`${server.url.replace(/^http/, 'ws')}/elsewhere`, { ...alice.device(2), reconnectPeriod: 0 })
    t.teardown(() => refused.endAsync(true))
    const error = await within(new Promise<Error>((resolve) => refused.once('error', resolve)), 'the refused upgrade', 10_000)
    t.ok(error, 'another upgrade path is refused')
  })

  await t.test('the Debian mosquitto clients over MQTT 3.1', async (t) => {
    const { host, port } = hostAndPort(url)
    const common = ['-V', 'mqttv31', '-h', host, '-p', port, '-u', alice.username, '-P', alice.password]
    const topic = alice.topic(0, 'data/5')
    const pub = await mosquitto('mosquitto_pub', [...common, '-i', alice.thingIds[0]!, '-t', topic, '-m', 'lum,lux=100', '-q', '1', '-r'])
    t.equal(pub.code, 0, pub.stderr)
    const sub = await mosquitto('mosquitto_sub', [...common, '-i', alice.thingIds[1]!, '-t', topic, '-C', '1', '-W', '10', '-v'])
    t.equal(sub.code, 0, sub.stderr)
    t.equal(sub.stdout.trim(), `${topic} lum,lux=100`, 'the retained message arrives on subscribe')
    const refused = await mosquitto('mosquitto_pub', [...common, '-i', alice.thingIds[0]!, '-P', 'wrong', '-t', topic, '-m', 'x'])
    t.not(refused.code, 0, 'wrong password')
    t.match(refused.stderr, /not authori[sz]ed|bad user name or password|Connection Refused/i)
  })
})

t.test('TLS listener with a certificate', async (t) => {
  const dir = tempDataDir(t)
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' })
  const server = await startTestServer(t, { env: { MQTTS_PORT: '0', MQTT_TLS_CERT_FILE: cert, MQTT_TLS_KEY_FILE: key } })
  const tlsPort = server.capsicum.mqttTlsPort
  t.type(tlsPort, 'number', 'the TLS listener is on')
  const alice = await deviceAccount(server, { things: 2 })
  const device = await connectDevice(t, `mqtts://127.0.0.1:${tlsPort}`, { ...alice.device(0), ca: readFileSync(cert) })
  await device.subscribe(alice.topic(0, 'data/+'))
  await device.publish(alice.topic(0, 'data/1'), 'over tls', { qos: 1 })
  t.equal((await device.nextMessage((m) => m.text === 'over tls', 'the echo over TLS')).topic, alice.topic(0, 'data/1'))
  const pub = await mosquitto('mosquitto_pub', ['-V', 'mqttv31', '-h', '127.0.0.1', '-p', String(tlsPort), '--cafile', cert, '-u', alice.username, '-P', alice.password, '-i', alice.thingIds[1]!, '-t', alice.topic(0, 'data/2'), '-m', '2'])
  t.equal(pub.code, 0, `mosquitto_pub over TLS: ${pub.stderr}`)
  await device.nextMessage((m) => m.topic === alice.topic(0, 'data/2'), "mosquitto_pub's message over TLS")
})

t.test('without a certificate there is no TLS listener; MQTT_PORT=off turns TCP off', async (t) => {
  const server = await startTestServer(t, { env: { MQTT_PORT: 'off' } })
  t.equal(server.capsicum.mqttTlsPort, null)
  t.equal(server.capsicum.mqttPort, null)
  t.equal(server.capsicum.mqttUrl, null)
  const alice = await deviceAccount(server)
  const device = await connectDevice(t, `${server.url.replace(/^http/, 'ws')}/mqtt`, alice.device(0))
  t.ok(device.client.connected, 'WebSocket still serves devices')
})
