/**
 * PUBLISH packets read straight from the socket's chunk. mqtt-packet reads every packet
 * through a buffer list (`bl`): each field it reads makes a view or a copy of the bytes
 * and an offset pair, about 1 µs a packet (`npm run bench:parser`). Nearly every packet of
 * a busy connection is a PUBLISH that lies whole in the chunk it arrived in; those are
 * read here, into the same `Packet` objects with the same fields, and handed to aedes the
 * way the parser hands them ('packet' events, in order).
 *
 * The rest goes to mqtt-packet as before: another type of packet, a malformed PUBLISH (so
 * the parser reports its error), one over the size limit (so `limitPacketSize` refuses
 * it), and what follows any of them in the chunk. A PUBLISH cut by the chunk's end is
 * read by mqtt-packet across the chunks, given exactly its own bytes when it is well
 * formed, and the direct reading resumes after it. test/mqtt/publish-parser.test.ts checks
 * that both read the same packets and errors from the same bytes however they are cut, up
 * to the first error (where aedes closes the connection).
 */
import type { Client } from 'aedes'
import { publishParserInternalsOf, type PacketParserInternals, type ParsedPacket } from './aedes-internals.ts'

/** MQTT 3.1.1 fixed header of a PUBLISH: type 3 in the high nibble */
const publishType = 3

/**
 * Whether a PUBLISH of `length` bytes after its fixed header holds its topic and, at QoS 1
 * and 2, its packet id: mqtt-packet reads one that does not from the bytes after it.
 */
const holdsTopicAndId = (length: number, qos: number, topicLength: number): boolean => 2 + topicLength + (qos > 0 ? 2 : 0) <= length

/**
 * The PUBLISH at `at` when it lies whole in `chunk` and is well formed (MQTT 3.1.1, 3.3)
 * and within `maxBytes`; its end too. Null otherwise: mqtt-packet reads it.
 */
function publishAt(chunk: Buffer, at: number, maxBytes: number, newPacket: () => ParsedPacket): { readonly packet: ParsedPacket; readonly end: number } | null {
  const first = chunk[at]!
  if (first >> 4 !== publishType) return null
  const qos = (first >> 1) & 3
  if (qos === 3) return null
  // remaining length: 1 to 4 bytes, 7 bits each, least significant first
  let length = 0
  let multiplier = 1
  let position = at + 1
  for (let i = 0; ; i++) {
    if (i === 4 || position >= chunk.length) return null
    const byte = chunk[position++]!
    length += (byte & 127) * multiplier
    if (byte < 128) break
    multiplier *= 128
  }
  const end = position + length
  if (end > chunk.length || end - at > maxBytes) return null
  if (length < 2) return null
  const topicLength = chunk.readUInt16BE(position)
  if (!holdsTopicAndId(length, qos, topicLength)) return null
  const topicEnd = position + 2 + topicLength
  const packet = newPacket()
  packet.cmd = 'publish'
  packet.retain = (first & 1) !== 0
  packet.qos = qos
  packet.dup = (first & 8) !== 0
  packet.length = length
  packet.topic = chunk.toString('utf8', position + 2, topicEnd)
  if (qos > 0) packet.messageId = chunk.readUInt16BE(topicEnd)
  packet.payload = chunk.subarray(qos > 0 ? topicEnd + 2 : topicEnd, end)
  return { packet, end }
}

/**
 * How many of `chunk`'s bytes, from `at`, finish the PUBLISH the parser is waiting for, when
 * they finish it and it is well formed (its topic and packet id lie within it, so the
 * parser reads nothing beyond it); null otherwise.
 */
function bytesFinishingPublish(parser: PacketParserInternals, chunk: Buffer, at: number): number | null {
  const { packet, _list: list } = parser
  if (packet.cmd !== 'publish' || packet.qos === undefined || packet.length < 2) return null
  const need = packet.length - list.length
  if (need > chunk.length - at) return null
  const byte = (i: number): number => (i < list.length ? list.get(i) : chunk[at + i - list.length]!)
  return holdsTopicAndId(packet.length, packet.qos, (byte(0) << 8) | byte(1)) ? need : null
}

/** Reads this connection's whole PUBLISH packets itself, the rest through mqtt-packet. */
export function parsePublishesDirectly(client: Client, maxBytes: number): void {
  const { parser, newPacket } = publishParserInternalsOf(client)
  const parse = parser.parse
  parser.parse = function parsePublishesFirst(this: PacketParserInternals, chunk: Buffer): number {
    // after a failed packet mqtt-packet reads the next one's length at where it had got to
    // (`_pos`, not reset with its state): that is left to it
    if (this.error !== null || (this._pos ?? 0) !== 0 || this.settings.protocolVersion === 5) return parse.call(this, chunk)
    let at = 0
    while (at < chunk.length) {
      if (this._stateCounter === 1) {
        // a packet's length cut by the last chunk's end: mqtt-packet reads on, a byte at a time
        parse.call(this, chunk.subarray(at, ++at))
      } else if (this._stateCounter !== 0 || this._list.length > 0) {
        // the rest of a packet the last chunk began: mqtt-packet reads exactly that, when it is a
        // well-formed PUBLISH, and everything from here otherwise
        const need = this._stateCounter === 2 ? bytesFinishingPublish(this, chunk, at) : null
        if (need === null) return parse.call(this, at === 0 ? chunk : chunk.subarray(at))
        parse.call(this, chunk.subarray(at, (at += need)))
      } else {
        const next = publishAt(chunk, at, maxBytes, newPacket)
        if (next === null) return parse.call(this, at === 0 ? chunk : chunk.subarray(at))
        at = next.end
        this.emit('packet', next.packet)
      }
      // failed (by the parser or a listener): the rest waits as mqtt-packet would leave it
      if (this.error !== null) {
        if (at < chunk.length) this._list.append(chunk.subarray(at))
        return this._list.length
      }
    }
    return this._list.length
  }
}
