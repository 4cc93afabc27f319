/**
 * The broker reads whole PUBLISH packets of a chunk itself (adapters/mqtt/publish-parser.ts)
 * and leaves the rest to mqtt-packet. From the same bytes, cut into the same chunks, a
 * parser with that reader must hand out the same packets and the same errors, in the same
 * order, as mqtt-packet alone, with the size limit on both, up to the first error. The
 * bytes are seeded random streams: PUBLISHes of every QoS and other packets, and in half of
 * them what the reader must pass on too (QoS 3, a topic running past its packet, no room
 * for a packet id, a 5-byte or non-minimal length, random bytes, packets over the limit).
 * The broker's own behaviour over a socket is covered by the other tests of test/mqtt.
 */
import mqttPacket, { type Packet } from 'mqtt-packet'
import type { Client } from 'aedes'
import t from 'tap'
import { isDeepStrictEqual } from 'node:util'
import { limitPacketSize } from '../../adapters/mqtt/aedes-internals.ts'
import { parsePublishesDirectly } from '../../adapters/mqtt/publish-parser.ts'

/** mulberry32: the same sequence for the same seed everywhere */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296
  }
}

const maxBytes = 600

type Parser = ReturnType<typeof mqttPacket.parser>
/** what a parser handed out: each packet (its payload as hex) or error, in order */
type Seen = readonly unknown[]

/** A parser as the broker has it: the size limit, and with `direct` the PUBLISH reader; counts mqtt-packet's own parses. */
function parserOf(direct: boolean): { parser: Parser; seen: unknown[]; ownParses: () => number } {
  const parser = mqttPacket.parser()
  const seen: unknown[] = []
  parser.on('packet', (packet: Packet) => {
    const { payload, ...rest } = packet as Packet & { payload?: Buffer | string | null }
    seen.push({ ...rest, payload: payload == null ? payload : Buffer.from(payload).toString('hex'), constructor: packet.constructor.name })
  })
  parser.on('error', (error: Error) => seen.push({ error: error.message }))
  // the patches read the connection's parser only
  const connection = { _parser: parser } as unknown as Client
  limitPacketSize(connection, maxBytes)
  let parses = 0
  const parse = parser.parse.bind(parser)
  parser.parse = (chunk: Buffer) => {
    parses++
    return parse(chunk)
  }
  if (direct) parsePublishesDirectly(connection, maxBytes)
  return { parser, seen, ownParses: () => parses }
}

/**
 * What the parser hands out up to its first error: aedes closes the connection on a parser
 * error, and what mqtt-packet would read after one depends on where the chunks were cut (it
 * reads the next length from where the failed packet had got to).
 */
function feed(chunks: readonly Buffer[], direct: boolean): { seen: Seen; ownParses: number } {
  const { parser, seen, ownParses } = parserOf(direct)
  for (const chunk of chunks) parser.parse(chunk)
  const failed = seen.findIndex((s) => typeof s === 'object' && s !== null && 'error' in s)
  return { seen: failed === -1 ? seen : seen.slice(0, failed + 1), ownParses: ownParses() }
}

const bytesOf = (next: () => number, length: number): Buffer => Buffer.from(Array.from({ length }, () => Math.floor(next() * 256)))

/** One packet's bytes, valid or (unless `valid`) not. */
function somePacket(next: () => number, valid: boolean): Buffer {
  const pick = valid ? next() * 0.8 : next()
  const qos = Math.floor(next() * 3) as 0 | 1 | 2
  const topic = next() < 0.2 ? bytesOf(next, 1 + Math.floor(next() * 20)).toString('latin1') : `v1/u/things/t${Math.floor(next() * 100)}/data/${Math.floor(next() * 10)}`
  const payload = bytesOf(next, next() < 0.1 ? 0 : Math.floor(next() * (next() < 0.2 ? 700 : 40)))
  if (pick < 0.6) {
    const packet = { cmd: 'publish', topic, payload, qos, retain: next() < 0.3, dup: next() < 0.2, ...(qos > 0 ? { messageId: 1 + Math.floor(next() * 65_534) } : {}) } as const
    return mqttPacket.generate(packet as Packet)
  }
  if (pick < 0.7) return Buffer.from([0xc0, 0x00]) // PINGREQ
  if (pick < 0.75) return mqttPacket.generate({ cmd: 'puback', messageId: 1 + Math.floor(next() * 65_534) })
  if (pick < 0.8) return mqttPacket.generate({ cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: 'v1/u/things/+/cmd/#', qos: 1 }] })
  if (pick < 0.84) return Buffer.from([0x36, 0x03, 0x00, 0x01, 0x61]) // PUBLISH with both QoS bits
  if (pick < 0.88) return Buffer.from([0x30, 0x05, 0x00, 0x09, 0x61, 0x62, 0x63]) // topic longer than its packet
  if (pick < 0.91) return Buffer.from([0x32, 0x04, 0x00, 0x02, 0x61, 0x62]) // QoS 1 without room for its id
  if (pick < 0.93) return Buffer.from([0x30, 0x01, 0x00]) // shorter than a topic length
  if (pick < 0.95) return Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]) // a five-byte length
  if (pick < 0.97) return Buffer.from([0x30, 0x80, 0x00]) // a length of zero written in two bytes
  return bytesOf(next, 1 + Math.floor(next() * 8))
}

/** The bytes cut into chunks at random places, or whole. */
function chunksOf(bytes: Buffer, next: () => number): Buffer[] {
  if (next() < 0.3) return [bytes]
  const chunks: Buffer[] = []
  let at = 0
  while (at < bytes.length) {
    const size = 1 + Math.floor(next() * (next() < 0.5 ? 8 : 400))
    chunks.push(bytes.subarray(at, at + size))
    at += size
  }
  return chunks
}

t.test('the same packets and errors as mqtt-packet alone, from 3,000 seeded streams cut at random', async (t) => {
  const seed = Number(process.env.FUZZ_SEED ?? 20261208)
  const next = random(seed)
  let direct = 0
  let mismatches = 0
  for (let n = 0; n < 3000; n++) {
    // half the streams without a malformed packet, so that long ones are read to their end
    const valid = n % 2 === 0
    const bytes = Buffer.concat(Array.from({ length: 1 + Math.floor(next() * 12) }, () => somePacket(next, valid)))
    const chunks = chunksOf(bytes, next)
    const expected = feed(chunks, false).seen
    const { seen } = feed(chunks, true)
    direct += seen.length
    if (isDeepStrictEqual(seen, expected)) continue
    // the first few differences in full
    if (++mismatches <= 5) t.same(seen, expected, `stream ${n} (seed ${seed}): ${bytes.toString('hex')}`)
  }
  t.equal(mismatches, 0, 'streams read differently')
  t.ok(direct > 3000, `the streams hand out packets and errors (${direct})`)
})

t.test('a chunk of whole PUBLISH packets never reaches mqtt-packet; a packet cut by a chunk does, and only it', async (t) => {
  const packets = [
    mqttPacket.generate({ cmd: 'publish', topic: 'v1/u/things/a/data/1', payload: Buffer.from('temp,c=21.5'), qos: 1, messageId: 1, retain: false, dup: false }),
    mqttPacket.generate({ cmd: 'publish', topic: 'v1/u/things/a/data/2', payload: Buffer.alloc(300, 7), qos: 0, retain: true, dup: false }),
    mqttPacket.generate({ cmd: 'publish', topic: 'v1/u/things/a/data/3', payload: Buffer.from('hum,p=40'), qos: 1, messageId: 2, retain: false, dup: false }),
  ]
  const bytes = Buffer.concat(packets)
  const whole = feed([bytes], true)
  t.equal(whole.ownParses, 0)
  t.equal(whole.seen.length, 3)
  t.match(whole.seen[0], { cmd: 'publish', topic: 'v1/u/things/a/data/1', qos: 1, messageId: 1, payload: Buffer.from('temp,c=21.5').toString('hex'), constructor: 'Packet' })
  // cut 3 bytes into the second packet: mqtt-packet reads its header from the first chunk and its
  // rest from the second, then the third packet is read directly again
  const cutAt = packets[0]!.length + 3
  const split = feed([bytes.subarray(0, cutAt), bytes.subarray(cutAt)], true)
  t.equal(split.ownParses, 2, 'mqtt-packet parses the two pieces of the cut packet, nothing else')
  t.same(split.seen, whole.seen)
})

t.test('a PUBLISH over the size limit is still refused by the limit, before its body', async (t) => {
  const big = mqttPacket.generate({ cmd: 'publish', topic: 'v1/u/things/a/data/1', payload: Buffer.alloc(maxBytes), qos: 0, retain: false, dup: false })
  const { seen } = feed([big], true)
  t.equal(seen.length, 1)
  t.match(seen[0], { error: /over the limit of 600/ })
})
