/**
 * Every place the MQTT adapter reaches inside aedes 1.2 (and the mqtt-packet parser,
 * mqemitter and aedes-packet it bundles), in one module. aedes exposes none of these as
 * API, so an upgrade may move them silently; `aedesInternalsProblems` lists what no longer
 * holds, the broker refuses to start on another version than the one checked here, and
 * test/mqtt/aedes-internals.test.ts checks each shape on a live client. What aedes would
 * need to expose for each patch to go is in that test's header.
 *
 * - the QoS 0 delivery (`deliver0`, an instance property) is replaced, to write a turn's
 *   messages at once (batched-delivery.ts);
 * - the per-client dedupe (`client.duplicates`, moscajs/aedes#955, #994) is turned off;
 * - the emitter gets no limit on deliveries at once (mqemitter reads 0 as "none");
 * - the packet parser refuses a declared length over the limit before the body is read;
 * - whole PUBLISH packets of a chunk are read before the parser sees it (publish-parser.ts);
 * - `client.subscriptions` and `aedes.clients` are read, `messageExpiry` rides on packets.
 */
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { Aedes, AedesPublishPacket, Client } from 'aedes'

/** The versions whose internals this module was written against and checked on. */
export const reliedOnVersions = { aedes: '1.2.0', 'mqtt-packet': '9.0.2', mqemitter: '7.1.0', 'aedes-packet': '4.0.1' } as const

/**
 * aedes' emitter delivers at most `concurrency` messages at once (100 by default) and
 * queues the rest in an array it shifts from, which costs time growing with the queue:
 * a burst of ten thousand readings spent most of its CPU there. Without the limit a
 * publisher is still held back, by its own connection: aedes reads its next packets only
 * once the last ones were delivered. 0 is "no limit" for mqemitter (and mqemitter-redis).
 */
export const unlimitedDeliveries = 0

type DeliveryCallback = () => void
export type QoS0Delivery = (packet: AedesPublishPacket & { nl?: boolean; clientId?: string }, callback: DeliveryCallback) => void

/** The parts of aedes' Client (lib/client.js) the adapter reads or replaces. */
export interface ClientInternals {
  readonly id: string
  readonly conn: { write(chunk: Buffer): boolean }
  readonly connecting: boolean
  readonly connected: boolean
  readonly errored: boolean
  readonly subscriptions: Record<string, { readonly qos: number }>
  duplicates: Record<string, number>
  deliver0: QoS0Delivery
  waitForDrain(callback: (error: Error | null) => void): void
  _onError(error: Error): void
  readonly _parser: PacketParserInternals
}

/** A packet as mqtt-packet's parser makes it (its `Packet` class), with a PUBLISH's fields. */
export interface ParsedPacket {
  cmd: string | null
  retain: boolean
  qos: number
  dup: boolean
  length: number
  topic: string | null
  payload: Buffer | null
  messageId?: number
}

/**
 * The parts of mqtt-packet's Parser the size limit and the PUBLISH reader hook: its states
 * run as `this[name]()` from `_stateCounter`, over the bytes waiting in `_list`.
 */
export interface PacketParserInternals {
  readonly packet: { readonly cmd?: string | null; readonly length: number; readonly qos?: number }
  readonly error: Error | null
  readonly _list: { readonly length: number; append(chunk: Buffer): unknown; get(index: number): number }
  readonly _stateCounter: number
  /** where the packet being read is read from; 0 between packets (see publish-parser.ts) */
  readonly _pos: number | undefined
  readonly settings: { readonly protocolVersion?: number }
  parse(chunk: Buffer): number
  emit(event: 'packet', packet: ParsedPacket): boolean
  _parseLength(): boolean
  _emitError(error: Error): void
}

const internals = (client: Client): ClientInternals => client as unknown as ClientInternals

/** Replaces how this connection is handed QoS 0 messages (aedes reads the property at each delivery). */
export function replaceQoS0Delivery(client: Client, deliver0: QoS0Delivery): void {
  internals(client).deliver0 = deliver0
}

/** What a replacement delivery needs of the connection: its socket, state and error path. */
export function deliveryInternalsOf(client: Client): Pick<ClientInternals, 'id' | 'conn' | 'connecting' | 'connected' | 'errored' | 'waitForDrain' | '_onError'> {
  return internals(client)
}

/** Read by aedes' own dedupe: "never delivered anything", so it lets every packet through. */
const noHighWaterMark: Record<string, number> = new Proxy(Object.create(null) as Record<string, number>, {
  get: () => undefined,
  set: () => true,
  deleteProperty: () => true,
})

/**
 * aedes drops a message when a later-numbered one reached the client first (it keeps only
 * the highest packet number per broker), which lost retained data sent before a command
 * (moscajs/aedes#955, #994): off for this client; broker.ts drops true duplicates itself.
 */
export function turnOffDedupe(client: Client): void {
  internals(client).duplicates = noHighWaterMark
}

/** The connection's subscriptions, filter to granted QoS. */
export function subscriptionsOf(client: Client): Record<string, { readonly qos: number }> {
  return internals(client).subscriptions ?? {}
}

/** Every connected client of this broker. */
export function connectedClients(aedes: Aedes): Client[] {
  return Object.values((aedes as unknown as { clients: Record<string, Client> }).clients)
}

/** A packet whose declared size is over the limit; the connection is closed before its body is read. */
export class PacketTooLarge extends Error {
  constructor(
    readonly cmd: string,
    readonly declaredBytes: number,
    readonly maxBytes: number,
  ) {
    super(`${cmd} packet of ${declaredBytes} bytes declared, over the limit of ${maxBytes}`)
    this.name = 'PacketTooLarge'
  }
}

/** Bytes of a fixed header announcing `remaining` bytes: the type byte and 1-4 length bytes. */
const fixedHeaderBytes = (remaining: number): number => 1 + (remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4)

/**
 * mqtt-packet buffers a packet until its declared length has arrived, so a CONNECT
 * declaring 256 MB is read whole before anyone logs in. Here the parser fails the
 * connection as soon as it has read the length (aedes closes it on a parser error).
 */
export function limitPacketSize(client: Client, maxBytes: number): void {
  const parser = internals(client)._parser
  const parseLength = parser._parseLength
  parser._parseLength = function limitedParseLength(this: PacketParserInternals): boolean {
    if (!parseLength.call(this)) return false
    const declared = fixedHeaderBytes(this.packet.length) + this.packet.length
    if (declared <= maxBytes) return true
    this._emitError(new PacketTooLarge(this.packet.cmd ?? 'unknown', declared, maxBytes))
    return false
  }
}

const requireHere = createRequire(import.meta.url)
/** mqtt-packet as aedes loads it */
const requireFromAedes = createRequire(requireHere.resolve('aedes'))

/** the class of the packets mqtt-packet's parser makes */
const Packet = requireFromAedes('mqtt-packet/packet.js') as new () => ParsedPacket
const newPacket = (): ParsedPacket => new Packet()

/** The connection's parser, and a new packet of the class the parser makes. */
export function publishParserInternalsOf(client: Client): { readonly parser: PacketParserInternals; readonly newPacket: () => ParsedPacket } {
  return { parser: internals(client)._parser, newPacket }
}

/** The version of `name` as installed for `from` (aedes' own dependencies resolve from aedes). */
function installedVersion(name: string, from: NodeJS.Require): string {
  let dir = dirname(from.resolve(name))
  for (;;) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest)) {
      const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string }
      if (parsed.name === name) return parsed.version ?? 'unknown'
    }
    const parent = dirname(dir)
    if (parent === dir) return 'not found'
    dir = parent
  }
}

/** What differs from the versions and shapes this module relies on; empty when all hold. */
export function aedesInternalsProblems(client?: Client): string[] {
  const problems: string[] = []
  for (const [name, expected] of Object.entries(reliedOnVersions)) {
    const found = installedVersion(name, name === 'aedes' ? requireHere : requireFromAedes)
    if (found !== expected) problems.push(`${name} is ${found}, adapters/mqtt/aedes-internals.ts was checked against ${expected}`)
  }
  if (client === undefined) return problems
  const c = client as unknown as Record<string, unknown>
  const own = (name: string, type: string): void => {
    if (!Object.hasOwn(c, name) || typeof c[name] !== type) problems.push(`aedes Client has no own ${type} property \`${name}\``)
  }
  own('deliver0', 'function')
  own('duplicates', 'object')
  own('subscriptions', 'object')
  own('conn', 'object')
  own('_parser', 'object')
  for (const flag of ['connecting', 'connected', 'errored']) own(flag, 'boolean')
  for (const method of ['waitForDrain', '_onError']) if (typeof c[method] !== 'function') problems.push(`aedes Client has no method \`${method}\``)
  const parser = c._parser as Record<string, unknown> | undefined
  for (const method of ['_parseLength', '_emitError', 'parse', 'emit']) if (typeof parser?.[method] !== 'function') problems.push(`mqtt-packet Parser has no method \`${method}\``)
  const list = parser?._list as { length?: unknown; append?: unknown; get?: unknown } | undefined
  if (typeof list?.length !== 'number' || typeof list.append !== 'function' || typeof list.get !== 'function') problems.push('mqtt-packet Parser has no buffer list `_list`')
  if (typeof parser?._stateCounter !== 'number') problems.push('mqtt-packet Parser has no `_stateCounter`')
  if (parser?._pos !== undefined && parser._pos !== 0) problems.push('mqtt-packet Parser has a `_pos` other than 0 between packets')
  if (typeof parser?.settings !== 'object' || parser.settings === null) problems.push('mqtt-packet Parser has no `settings`')
  if (parser?.error !== null) problems.push('mqtt-packet Parser has no `error` (null while it has none)')
  if (typeof (parser?.packet as { length?: unknown } | undefined)?.length !== 'number') problems.push('mqtt-packet Parser has no `packet.length`')
  if (!Array.isArray(parser?._states) || !(parser._states as unknown[]).includes('_parseLength')) problems.push('mqtt-packet Parser no longer runs a `_parseLength` state')
  const broker = c.broker as Record<string, unknown> | undefined
  if (typeof broker?.clients !== 'object' || broker.clients === null) problems.push('aedes has no `clients` map')
  return problems
}

/** Refuses to run on aedes (or its parser, emitter, packet) of another version than the one checked. */
export function assertAedesInternals(): void {
  const problems = aedesInternalsProblems()
  if (problems.length > 0) {
    throw new Error(
      `The MQTT adapter patches aedes internals of known versions only:\n${problems.map((p) => `  - ${p}`).join('\n')}\n` +
        'Check adapters/mqtt/aedes-internals.ts against the new versions, run test/mqtt/aedes-internals.test.ts and update reliedOnVersions.',
    )
  }
}
