/**
 * Issue 16, item 6: what adapters/mqtt/aedes-internals.ts relies on inside aedes 1.2 still
 * holds. Each check names the patch it guards, so an upgrade that moves an internal fails
 * here, by name, rather than as a lost message somewhere in test/mqtt/delivery.test.ts.
 *
 * What aedes would need to expose for each patch to go (upstream-style):
 * - QoS 0 delivery: aedes writes each QoS 0 message in a turn of the event loop of its own
 *   (`setImmediate` then one `write` per packet in `deliver0`). An option to coalesce a
 *   connection's writes per turn (or a documented `client.deliver0` hook) would replace
 *   batched-delivery.ts.
 * - Dedupe: `dedupe()` keeps the highest `brokerCounter` per broker and drops anything
 *   lower, but packets are not emitted in counter order (a retained or QoS 1 publish is
 *   stored before it is emitted), so later-numbered QoS 0 packets overtake and the earlier
 *   ones are dropped (moscajs/aedes#955, #994). Deduplicating on (brokerId, counter) in a
 *   bounded window, or an option to turn the check off, would replace `turnOffDedupe`.
 * - Packet size: aedes has no maximum packet size; mqtt-packet buffers a packet until its
 *   declared length has arrived. A `maxPacketSize` broker option (MQTT 5's Maximum Packet
 *   Size, applied to 3.1.1 too) checked when the length is parsed would replace
 *   `limitPacketSize`.
 * - PUBLISH parsing: mqtt-packet reads every field through a buffer list, making views and
 *   copies per field (about 1 µs and 1 KB of garbage a packet). A faster parser in
 *   mqtt-packet itself, or a way to hand aedes parsed packets, would replace
 *   publish-parser.ts, which wraps the parser's `parse` and reads its `_list`,
 *   `_stateCounter`, `settings` and `error`.
 * - Emitter concurrency: `concurrency: 0` is mqemitter's "no limit", not documented by
 *   aedes; stating it in aedes' options would make it API.
 * - `aedes.clients` and `client.subscriptions` are read for revocations and command
 *   acknowledgements; they would need to be typed and documented.
 */
import { createRequire } from 'node:module'
import { PassThrough } from 'node:stream'
import { Aedes, type AedesPublishPacket, type Client } from 'aedes'
import t, { type Test } from 'tap'
import {
  PacketTooLarge,
  aedesInternalsProblems,
  assertAedesInternals,
  connectedClients,
  limitPacketSize,
  reliedOnVersions,
  replaceQoS0Delivery,
  subscriptionsOf,
  turnOffDedupe,
  unlimitedDeliveries,
} from '../../adapters/mqtt/aedes-internals.ts'

type Internal = Client & {
  deliver0(packet: Partial<AedesPublishPacket>, callback: () => void): void
  deliverQoS(packet: Partial<AedesPublishPacket>, callback: () => void): void
}

async function brokerWithClient(t: Test, options: ConstructorParameters<typeof Aedes>[0] = {}): Promise<{ aedes: Aedes; client: Internal; conn: PassThrough }> {
  const aedes = await Aedes.createBroker(options)
  const conn = new PassThrough()
  const client = aedes.handle(conn) as Internal
  t.teardown(() => new Promise<void>((resolve) => client.close(() => aedes.close(() => resolve()))))
  return { aedes, client, conn }
}

const publish = (brokerCounter: number): Partial<AedesPublishPacket> => ({ cmd: 'publish', topic: 'a', payload: Buffer.from('x'), qos: 0, retain: false, brokerId: 'other-broker', brokerCounter })

t.test('the installed versions are the ones the patches were checked against', async (t) => {
  t.same(aedesInternalsProblems(), [], `aedes-internals.ts relies on ${JSON.stringify(reliedOnVersions)}`)
  t.doesNotThrow(() => assertAedesInternals(), 'so the broker starts')
})

t.test("aedes' Client and parser have every property and method the patches use", async (t) => {
  const { aedes, client } = await brokerWithClient(t)
  t.same(aedesInternalsProblems(client), [], 'the shapes hold')
  t.same(connectedClients(aedes), [], '`aedes.clients` lists connected clients (none yet)')
  t.same(subscriptionsOf(client), {}, '`client.subscriptions` is a map')
})

t.test('replaceQoS0Delivery: aedes hands every QoS 0 message to `deliver0`', async (t) => {
  const { client } = await brokerWithClient(t)
  const delivered: number[] = []
  replaceQoS0Delivery(client, (packet, done) => {
    delivered.push(packet.brokerCounter)
    done()
  })
  await new Promise<void>((resolve) => client.publish({ cmd: 'publish', topic: 'a', payload: Buffer.from('x'), qos: 0, retain: false, dup: false } as never, () => resolve()))
  await new Promise<void>((resolve) => client.deliverQoS(publish(7), resolve))
  t.equal(delivered.length, 2, 'Client.publish and a QoS 1 delivery downgraded to 0 go through the replacement')
  t.equal(delivered[1], 7)
})

t.test("turnOffDedupe: aedes' dedupe reads `client.duplicates` and drops a lower counter (aedes#955, #994)", async (t) => {
  const forwarded: number[] = []
  const { client } = await brokerWithClient(t, {
    authorizeForward: (_client, packet) => {
      forwarded.push(packet.brokerCounter)
      return null
    },
  })
  const deliver = (counter: number): Promise<void> => new Promise((resolve) => client.deliver0(publish(counter), resolve))
  await deliver(2)
  await deliver(1)
  t.same(forwarded, [2], 'stock aedes still drops the earlier-numbered packet that arrived second: if it no longer does, turnOffDedupe may go')
  turnOffDedupe(client)
  await deliver(1)
  await deliver(2)
  await deliver(2)
  t.same(forwarded, [2, 1, 2, 2], 'off: every packet reaches authorizeForward, which drops true duplicates itself (broker.ts)')
})

t.test('limitPacketSize: the parser fails the connection as soon as the declared length is over the limit', async (t) => {
  const { aedes, client, conn } = await brokerWithClient(t)
  limitPacketSize(client, 1024)
  const failed = new Promise<Error>((resolve) => aedes.once('connectionError', (_client, error) => resolve(error)))
  // a CONNECT declaring 2 MB (remaining length 0x80 0x80 0x80 0x01), with no body at all
  conn.write(Buffer.from([0x10, 0x80, 0x80, 0x80, 0x01]))
  const error = await failed
  t.type(error, PacketTooLarge)
  t.match(error, { cmd: 'connect', declaredBytes: 2_097_152 + 5, maxBytes: 1024 })
  t.ok(conn.destroyed, 'the connection is closed')
})

t.test('unlimitedDeliveries: mqemitter (as aedes builds it) reads 0 as no limit on deliveries at once', async (t) => {
  const count = async (options: ConstructorParameters<typeof Aedes>[0]): Promise<number> => {
    const aedes = await Aedes.createBroker(options)
    t.teardown(() => new Promise<void>((resolve) => aedes.close(() => resolve())))
    let started = 0
    const mq = (aedes as unknown as { mq: { on(topic: string, handler: (message: unknown, done: () => void) => void): void; emit(message: { topic: string }): void } }).mq
    mq.on('load', () => started++) // never done: every delivery stays in flight
    for (let i = 0; i < 500; i++) mq.emit({ topic: 'load' })
    await new Promise((resolve) => setImmediate(resolve))
    return started
  }
  t.equal(await count({}), 100, "aedes' default holds deliveries beyond 100")
  t.equal(await count({ concurrency: unlimitedDeliveries }), 500, '0: all at once')
})

t.test('aedes-packet keeps `messageExpiry` (command deadlines ride on queued packets)', async (t) => {
  const fromAedes = createRequire(createRequire(import.meta.url).resolve('aedes'))
  const Packet = fromAedes('aedes-packet') as new (original: object) => { messageExpiry?: number }
  t.equal(new Packet({ cmd: 'publish', topic: 'a', messageExpiry: 1234 }).messageExpiry, 1234)
})
