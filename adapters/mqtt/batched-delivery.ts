/**
 * QoS 0 deliveries written in batches. aedes 1.2 hands each QoS 0 message to a
 * subscriber in a turn of the event loop of its own, so every message costs a socket
 * write (a system call) and a timer: a subscriber of a thousand devices spent a third of
 * the broker's time there. Here the messages a connection gets in one turn are encoded
 * together, into one buffer, and written once, in the next turn.
 *
 * What the aedes delivery does is kept: `authorizeForward` decides per message; a
 * connection that is gone fails the write (and is closed); a full socket holds the
 * delivery callbacks until it drains, which holds back the publishers (aedes reads a
 * connection's next packets only once its last ones were delivered). aedes' own
 * per-client dedupe is not consulted: broker.ts turns it off and drops true duplicates in
 * `authorizeForward`.
 *
 * This replaces `deliver0` on aedes' Client, through aedes-internals.ts (which checks the
 * shapes it relies on); test/mqtt covers the delivery paths.
 */
import type { Aedes, Client } from 'aedes'
import { deliveryInternalsOf, replaceQoS0Delivery } from './aedes-internals.ts'

type DeliveryCallback = () => void

export interface QoS0Message {
  readonly topic: string
  readonly payload: Buffer | string
  readonly retain: boolean
}

/** the largest remaining length a packet can declare (MQTT 3.1.1, 2.2.3) */
const maxRemainingLength = 268_435_455

/**
 * QoS 0 PUBLISH packets (MQTT 3.1.1, 3.3), encoded one after another into one buffer: the
 * bytes mqtt-packet's `generate` gives for each, without the stream, the chunk list and the
 * copy it makes per packet (most of the garbage of a delivery).
 */
export function encodeQoS0Publishes(messages: readonly QoS0Message[]): Buffer {
  const topicBytes: number[] = []
  const payloadBytes: number[] = []
  let total = 0
  for (const { topic, payload } of messages) {
    const t = Buffer.byteLength(topic)
    const p = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length
    const remaining = 2 + t + p
    if (t > 0xffff || remaining > maxRemainingLength) throw new RangeError(`a PUBLISH to ${topic} is too large to encode`)
    topicBytes.push(t)
    payloadBytes.push(p)
    total += 1 + varByteIntLength(remaining) + remaining
  }
  const buffer = Buffer.allocUnsafe(total)
  let at = 0
  for (let i = 0; i < messages.length; i++) {
    const { topic, payload, retain } = messages[i]!
    const t = topicBytes[i]!
    const p = payloadBytes[i]!
    buffer[at++] = retain ? 0x31 : 0x30
    for (let n = 2 + t + p; ; ) {
      const byte = n % 128
      n = Math.floor(n / 128)
      buffer[at++] = n > 0 ? byte | 128 : byte
      if (n === 0) break
    }
    at = buffer.writeUInt16BE(t, at)
    at += buffer.write(topic, at, t, 'utf8')
    at += typeof payload === 'string' ? buffer.write(payload, at, p, 'utf8') : payload.copy(buffer, at)
  }
  return buffer
}

const varByteIntLength = (n: number): number => (n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4)

export function batchQoS0Deliveries(aedes: Aedes, client: Client): void {
  const internals = deliveryInternalsOf(client)
  let messages: QoS0Message[] = []
  let callbacks: DeliveryCallback[] = []
  let scheduled = false

  const done = (waiting: readonly DeliveryCallback[], error: Error | null): void => {
    if (error) internals._onError(error)
    for (const callback of waiting) callback()
  }

  const flush = (): void => {
    scheduled = false
    const sending = messages
    const waiting = callbacks
    messages = []
    callbacks = []
    if (!internals.connecting && !internals.connected) return done(waiting, new Error('connection closed'))
    const written = internals.conn.write(encodeQoS0Publishes(sending))
    if (!written && !internals.errored) internals.waitForDrain((error) => done(waiting, error))
    else done(waiting, null)
  }

  replaceQoS0Delivery(client, (packet, callback) => {
    // MQTT 5 "no local": not back to the publisher
    const forward = packet.clientId === internals.id && packet.nl ? null : aedes.authorizeForward(client, packet)
    if (!forward) {
      setImmediate(callback)
      return
    }
    messages.push({ topic: forward.topic, payload: forward.payload, retain: forward.retain })
    callbacks.push(callback)
    if (!scheduled) {
      scheduled = true
      setImmediate(flush)
    }
  })
}
