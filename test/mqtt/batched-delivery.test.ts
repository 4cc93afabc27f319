/**
 * The QoS 0 deliveries of a turn are encoded into one buffer by our own encoder
 * (adapters/mqtt/batched-delivery.ts): its bytes must be mqtt-packet's, packet by packet,
 * and parse back as the same packets. (The delivery itself is covered by delivery.test.ts.)
 */
import mqttPacket, { type IPublishPacket } from 'mqtt-packet'
import t from 'tap'
import { encodeQoS0Publishes, type QoS0Message } from '../../adapters/mqtt/batched-delivery.ts'

const generated = (m: QoS0Message): Buffer => mqttPacket.generate({ cmd: 'publish', topic: m.topic, payload: m.payload, qos: 0, retain: m.retain, dup: false })

// remaining lengths on both sides of each boundary of the variable-length field (127/128, 16383/16384, 2097151/2097152)
const sizes = [0, 1, 100, 127 - 2 - 9, 128 - 2 - 9, 16_383 - 2 - 9, 16_384 - 2 - 9, 2_097_151 - 2 - 9, 2_097_152 - 2 - 9]
const messages: QoS0Message[] = [
  ...sizes.map((size, i) => ({ topic: 'v1/u/t/a', payload: Buffer.alloc(Math.max(0, size), i), retain: i % 2 === 0 })),
  { topic: 'v1/user/things/thing/data/1', payload: 'temp,c=25.3', retain: false },
  { topic: 'v1/ü/things/þing/data/2', payload: 'höt,c=25', retain: true },
  { topic: 'x', payload: '', retain: false },
]

t.test('each packet is the bytes mqtt-packet generates for it', async (t) => {
  for (const m of messages) t.ok(encodeQoS0Publishes([m]).equals(generated(m)), `${m.topic}, ${Buffer.byteLength(m.payload)} bytes, retain ${m.retain}`)
})

t.test('a turn of packets is their bytes one after another, and parses back as the same packets', async (t) => {
  const encoded = encodeQoS0Publishes(messages)
  t.ok(encoded.equals(Buffer.concat(messages.map(generated))))
  const parsed: IPublishPacket[] = []
  const parser = mqttPacket.parser({ protocolVersion: 4 })
  parser.on('packet', (packet) => parsed.push(packet as IPublishPacket))
  parser.on('error', (error) => t.fail(error.message))
  parser.parse(encoded)
  t.strictSame(
    parsed.map((p) => ({ topic: p.topic, payload: Buffer.from(p.payload).toString('hex'), retain: p.retain, qos: p.qos })),
    messages.map((m) => ({ topic: m.topic, payload: Buffer.from(m.payload).toString('hex'), retain: m.retain, qos: 0 })),
  )
})

t.test('a topic longer than its 2-byte length field can say is refused', async (t) => {
  t.throws(() => encodeQoS0Publishes([{ topic: 'x'.repeat(65_536), payload: '', retain: false }]), RangeError)
})
