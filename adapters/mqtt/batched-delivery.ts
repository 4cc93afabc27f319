/**
 * QoS 0 deliveries written in batches. aedes 1.2 hands each QoS 0 message to a
 * subscriber in a turn of the event loop of its own, so every message costs a socket
 * write (a system call) and a timer: a subscriber of a thousand devices spent a third of
 * the broker's time there. Here the messages a connection gets in one turn are encoded
 * together and written once, in the next turn.
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
import mqttPacket from 'mqtt-packet'
import { deliveryInternalsOf, replaceQoS0Delivery } from './aedes-internals.ts'

type DeliveryCallback = () => void

export function batchQoS0Deliveries(aedes: Aedes, client: Client): void {
  const internals = deliveryInternalsOf(client)
  let encoded: Buffer[] = []
  let callbacks: DeliveryCallback[] = []
  let scheduled = false

  const done = (waiting: readonly DeliveryCallback[], error: Error | null): void => {
    if (error) internals._onError(error)
    for (const callback of waiting) callback()
  }

  const flush = (): void => {
    scheduled = false
    const chunks = encoded
    const waiting = callbacks
    encoded = []
    callbacks = []
    if (!internals.connecting && !internals.connected) return done(waiting, new Error('connection closed'))
    const written = internals.conn.write(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks))
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
    encoded.push(mqttPacket.generate({ cmd: 'publish', topic: forward.topic, payload: forward.payload, qos: 0, retain: forward.retain, dup: false }))
    callbacks.push(callback)
    if (!scheduled) {
      scheduled = true
      setImmediate(flush)
    }
  })
}
