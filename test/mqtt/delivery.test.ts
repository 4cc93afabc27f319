/**
 * QoS 0 deliveries are written in batches (adapters/mqtt/batched-delivery.ts). What must
 * hold whatever the batching: a subscriber that stops reading gets every message, once
 * and in order, when it reads again (the broker waits for its socket to drain and holds
 * the publisher back meanwhile); a subscriber that vanishes in the middle of a burst
 * costs the others nothing.
 */
import { connect as connectTcp, type Socket } from 'node:net'
import mqttPacket, { type Packet } from 'mqtt-packet'
import t from 'tap'
import { deferred, within } from '../helpers/async.ts'
import { connectDevice, deviceAccount, hostAndPort, type DeviceIdentity } from '../helpers/mqtt.ts'
import { startTestServer } from '../helpers/server.ts'

/** A subscriber on a bare socket, so the test decides when it reads. */
async function rawSubscriber(url: string, identity: DeviceIdentity, filter: string): Promise<{ socket: Socket; packets: AsyncIterable<Packet> }> {
  const { host, port } = hostAndPort(url)
  const socket = connectTcp(Number(port), host)
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  const parser = mqttPacket.parser({ protocolVersion: 4 })
  const queue: Packet[] = []
  let wake: (() => void) | undefined
  parser.on('packet', (packet: Packet) => {
    queue.push(packet)
    wake?.()
  })
  socket.on('data', (chunk: Buffer) => parser.parse(chunk))
  const packets = {
    async *[Symbol.asyncIterator](): AsyncGenerator<Packet> {
      for (;;) {
        while (queue.length > 0) yield queue.shift()!
        await new Promise<void>((resolve) => (wake = resolve))
      }
    },
  }
  socket.write(
    mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: identity.clientId, username: identity.username, password: Buffer.from(identity.password) }),
  )
  socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 0 }] }))
  const iterator = packets[Symbol.asyncIterator]()
  for (;;) {
    const { value } = await within(iterator.next(), 'CONNACK and SUBACK', 10_000)
    if ((value as Packet).cmd === 'suback') break
  }
  return { socket, packets: { [Symbol.asyncIterator]: () => iterator } }
}

t.test('QoS 0 deliveries', async (t) => {
  const server = await startTestServer(t)
  const url = server.capsicum.mqttUrl!
  const account = await deviceAccount(server, { things: 3 })
  // large enough that the socket buffers between broker and subscriber fill many times over
  const count = 3000
  const body = 'x'.repeat(8 * 1024)

  await t.test('a subscriber that stops reading gets every message, once and in order, when it reads again', async (t) => {
    const subscriber = await rawSubscriber(url, account.device(1), account.topic(0, 'data/+'))
    t.teardown(() => subscriber.socket.destroy())
    subscriber.socket.pause()
    const publisher = await connectDevice(t, url, account.device(0))
    let acknowledged = 0
    const firstAck = deferred()
    const sent = Promise.all(
      Array.from({ length: count }, (_, i) =>
        publisher.client.publishAsync(account.topic(0, 'data/5'), `${i} ${body}`, { qos: 1 }).then(() => {
          if (++acknowledged === 1) firstAck.resolve()
        }),
      ),
    )
    await within(firstAck.promise, 'the first PUBACK', 10_000)
    // The broker has filled the subscriber's socket by now or will soon; either way it
    // must wait for it, not drop or reorder.
    await new Promise((resolve) => setTimeout(resolve, 200))
    subscriber.socket.resume()
    const seen: number[] = []
    for await (const packet of subscriber.packets) {
      if (packet.cmd !== 'publish') continue
      seen.push(Number(String(packet.payload).split(' ', 1)[0]))
      if (seen.length === count) break
    }
    await within(sent, 'every PUBACK', 30_000)
    t.strictSame(seen, Array.from({ length: count }, (_, i) => i), 'every message, once, in order')
  })

  await t.test('a subscriber that vanishes mid-burst costs the others nothing', async (t) => {
    const leaving = await rawSubscriber(url, account.device(1), account.topic(0, 'data/+'))
    const staying = await connectDevice(t, url, account.device(2))
    await staying.subscribe(account.topic(0, 'data/+'))
    const publisher = await connectDevice(t, url, account.device(0))
    const sent = Promise.all(Array.from({ length: count }, (_, i) => publisher.client.publishAsync(account.topic(0, 'data/6'), `${i}`, { qos: 1 })))
    for await (const packet of leaving.packets) {
      if (packet.cmd === 'publish') break
    }
    leaving.socket.destroy()
    await within(sent, 'every PUBACK', 30_000)
    await staying.nextMessage((m) => m.text === String(count - 1), 'the last message')
    const numbers = staying.messages.filter((m) => m.topic.endsWith('/data/6')).map((m) => Number(m.text))
    t.strictSame(numbers, Array.from({ length: count }, (_, i) => i), 'the subscriber that stayed got everything, in order')
  })
})
