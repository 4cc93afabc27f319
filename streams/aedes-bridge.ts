/**
 * The Aedes bridge: what the MQTT broker asks the core, kept free of the broker itself
 * (adapters/mqtt wires it to aedes). It authenticates devices, applies the topic ACL,
 * turns every device publish on a telemetry topic into ONE record on the telemetry
 * stream (resolving only once the record is durable, so a QoS 1 PUBACK means "kept"),
 * and follows the commands the server sends to devices.
 *
 * ACL: a connection may use only topics under `v1/{its username}/things/`, so a gateway
 * or the official test clients can address other things of the same account, and
 * nobody can reach another account's topics.
 */
import type { Logger } from '../domain/ports/logger.ts'
import type { EventStore, RecordedEvent } from '../domain/ports/event-store.ts'
import { LogFollower, type FollowerRegistry } from '../projections/log-follower.ts'
import type { CommandOutcomeReport } from '../commands/thing/record-command-outcome.ts'
import type { MqttClientSecretRotated } from '../domain/mqtt-client/mqtt-client.ts'
import type { ThingDeactivated, ThingUpdated } from '../domain/thing/thing.ts'
import { interpretPublish, type Interpretation } from '../domain/cayenne/interpret.ts'
import { parseTopic, type CayenneTopic } from '../domain/cayenne/topics.ts'
import type { DeviceDirectory, DeviceThing } from '../projections/device-directory.ts'
import { telemetryRecordOf, type TelemetryMessage } from '../domain/telemetry/telemetry-message.ts'
import type { TelemetryRecordToProduce } from '../domain/ports/telemetry-stream.ts'
import { isoTextOfTimes } from '../domain/time-text.ts'

/** One authenticated connection. */
export interface DeviceSession {
  /** the MQTT client id: a thing id */
  readonly clientId: string
  /** the MQTT username: the account's MQTT client id */
  readonly username: string
  readonly accountId: string
  readonly thing: DeviceThing
}

export type Authentication =
  | { readonly ok: true; readonly session: DeviceSession }
  | { readonly ok: false; readonly code: 4 | 5; readonly reason: string }

export interface AedesBridgeDeps {
  readonly directory: DeviceDirectory
  /** resolves once the record is durable on the telemetry stream */
  readonly write: (record: TelemetryRecordToProduce) => Promise<void>
  readonly now: () => Date
  readonly logger: Logger
  /** records written and not yet produced: past a limit, QoS 0 publishes wait for the stream too */
  readonly backlog: () => number
  /** records a command's delivery on its thing (commands/thing/record-command-outcome.ts) */
  readonly reportCommand: (report: CommandOutcomeReport) => Promise<unknown>
}

/** A command the server published to a device: a `cmd/{channel}` topic and the deadline it carries. */
export interface CommandPacket {
  readonly topic: string
  readonly payload: Uint8Array
  /** ms since the epoch; past it, the command has timed out and must not reach the device */
  readonly expiresAt: number
}

const rejectedPayloadBytes = 4096
const qos0BacklogLimit = 10_000
/** how long a looked-up thing (a gateway's child) is trusted before it is read again */
const thingCacheMs = 10_000

/** Whether `topic` starts with `v1/{username}/things/`, checked without building that text (every publish asks). */
function underOwnPrefix(username: string, topic: string): boolean {
  return topic.startsWith('v1/') && topic.startsWith(username, 3) && topic.startsWith('/things/', 3 + username.length)
}

/** the length of `v1/{username}/things/` */
const prefixLength = (username: string): number => 3 + username.length + 8

/** A concrete topic a connection may publish to: under `v1/{username}/things/`, with something after it. */
export function mayUseTopic(username: string, topic: string): boolean {
  return topic.length > prefixLength(username) && underOwnPrefix(username, topic) && !topic.includes('+') && !topic.includes('#')
}

/**
 * A subscription filter a connection may use: under `v1/{username}/things/`, with no
 * wildcard in those first three levels (`v1/+/things/#` would reach every account).
 */
export function mayUseFilter(username: string, filter: string): boolean {
  if (username.includes('+') || username.includes('#')) return false
  return filter.length > prefixLength(username) && underOwnPrefix(username, filter)
}

/** The seq of a command payload `seq,value` the server sent (a positive integer); undefined otherwise. */
export function commandSeqOf(payload: Uint8Array): number | undefined {
  const text = Buffer.from(payload.buffer, payload.byteOffset, Math.min(payload.byteLength, 24)).toString('latin1')
  const match = /^([1-9]\d{0,14}),/.exec(text)
  return match ? Number(match[1]) : undefined
}

const done = Promise.resolve()

const isTelemetry = (topic: CayenneTopic): boolean => topic.kind !== 'device-bound' && topic.kind !== 'other'

export class AedesBridge {
  /** thing id → the username it last connected with (the command reactor publishes there) */
  private readonly lastUsernames = new Map<string, string>()
  /** per connection: things it addressed besides its own */
  private readonly things = new WeakMap<DeviceSession, Map<string, { thing: DeviceThing | undefined; until: number }>>()
  private readonly isoText = isoTextOfTimes()

  constructor(private readonly deps: AedesBridgeDeps) {}

  async authenticate(clientId: string, username: string | undefined, password: Uint8Array | undefined): Promise<Authentication> {
    if (username === undefined || password === undefined) return { ok: false, code: 4, reason: 'no user name or password' }
    const answer = await this.deps.directory.authenticateDevice({ username, password: Buffer.from(password).toString('utf8'), thingId: clientId })
    if (!answer.ok) {
      this.deps.logger.warn({ clientId, username, code: answer.code, reason: answer.reason }, 'MQTT connection refused')
      return answer
    }
    const thing: DeviceThing = { ...answer.thing, accountId: answer.accountId }
    return { ok: true, session: { clientId, username, accountId: answer.accountId, thing } }
  }

  /**
   * Whether a QoS 0 publish may be routed before its record is durable: nobody waits for
   * an acknowledgement, so only a growing backlog (the stream slower than the devices)
   * makes it wait, which slows the publishers down.
   */
  mayRouteAtOnce(qos: number): boolean {
    return qos === 0 && this.deps.backlog() < qos0BacklogLimit
  }

  maySubscribe(session: DeviceSession, filter: string): boolean {
    if (mayUseFilter(session.username, filter)) return true
    this.deps.logger.warn({ clientId: session.clientId, username: session.username, topic: filter }, 'MQTT subscribe refused: outside the connection\'s topics')
    return false
  }

  mayPublish(session: DeviceSession, topic: string): boolean {
    if (mayUseTopic(session.username, topic)) return true
    this.deps.logger.warn({ clientId: session.clientId, username: session.username, topic }, 'MQTT publish refused: outside the connection\'s topics')
    return false
  }

  /**
   * Records a publish the ACL allowed. Resolves once its record is durable, or at once
   * when the topic is not telemetry (commands and other device-bound traffic are only
   * routed). Never rejects for what a device sent; only when the stream fails.
   * `parsed`: the topic parsed, when the caller has it already.
   */
  publish(session: DeviceSession, topic: string, payload: Uint8Array, parsed: CayenneTopic | null = parseTopic(topic)): Promise<void> {
    // an empty payload clears a retained message: nothing to record
    if (parsed === null || !isTelemetry(parsed) || payload.byteLength === 0) return done
    // a device publishing for itself, the common case, needs no lookup (and no extra turn)
    if (parsed.thingId === session.clientId) return this.record(session, parsed, topic, payload, session.thing)
    return this.thingFor(session, parsed.thingId).then((thing) => this.record(session, parsed, topic, payload, thing))
  }

  private record(session: DeviceSession, parsed: CayenneTopic, topic: string, payload: Uint8Array, thing: DeviceThing | undefined): Promise<void> {
    const receivedAt = this.deps.now()
    const thingId = parsed.thingId
    const accountId = session.accountId
    const at = this.isoText(receivedAt)
    let message: TelemetryMessage
    if (thing === undefined || thing.status !== 'ACTIVE') {
      const reason = thing === undefined ? 'unknown thing' : `thing is ${thing.status}`
      message = { thingId, accountId, receivedAt: at, kind: 'rejected', source: 'mqtt', topic, payload: base64Of(payload), reason }
    } else {
      const meaning = interpretSafely(parsed, payload, thing.codec)
      switch (meaning.kind) {
        case 'ignored':
          return done
        case 'readings':
          message = { thingId, accountId, receivedAt: at, kind: 'readings', source: 'mqtt', topic, readings: meaning.readings, payload: base64Of(payload, payload.byteLength) }
          break
        case 'response':
          message = { thingId, accountId, receivedAt: at, kind: 'response', seq: meaning.seq, ok: meaning.ok, message: meaning.message }
          break
        case 'sys':
          message = { thingId, accountId, receivedAt: at, kind: 'sys', key: meaning.key, value: meaning.value }
          break
        case 'rejected':
          message = { thingId, accountId, receivedAt: at, kind: 'rejected', source: 'mqtt', topic, payload: base64Of(payload), reason: meaning.reason }
          break
      }
    }
    return this.deps.write(telemetryRecordOf(message, receivedAt.getTime()))
  }

  /** The connection is up (after CONNACK): the processor sets `last_online` from it. */
  connected(session: DeviceSession): Promise<void> {
    this.lastUsernames.set(session.clientId, session.username)
    return this.connection(session, 'connected')
  }

  disconnected(session: DeviceSession): Promise<void> {
    return this.connection(session, 'disconnected')
  }

  /** The username a thing last connected with on this node; undefined when it has not. */
  lastUsernameOf(thingId: string): string | undefined {
    return this.lastUsernames.get(thingId)
  }

  /**
   * A command on its way to a connection. False when its deadline passed (it was queued
   * for an offline session and has timed out meanwhile): it must not reach the device.
   * `awaitsAck`: the connection will PUBACK it (a QoS 1 subscription of a persistent
   * session); otherwise handing it over is its delivery.
   */
  forwardCommand(session: DeviceSession, command: CommandPacket, awaitsAck: boolean): boolean {
    if (command.expiresAt <= this.deps.now().getTime()) {
      this.deps.logger.info({ clientId: session.clientId, topic: command.topic }, 'MQTT command dropped: it timed out before the device was back')
      return false
    }
    if (!awaitsAck) this.delivered(session, command)
    return true
  }

  /** The device PUBACKed a command. */
  commandAcknowledged(session: DeviceSession, command: CommandPacket): void {
    this.delivered(session, command)
  }

  private delivered(session: DeviceSession, command: CommandPacket): void {
    const parsed = parseTopic(command.topic)
    const seq = commandSeqOf(command.payload)
    if (parsed === null || seq === undefined) return
    this.deps
      .reportCommand({ thingId: parsed.thingId, accountId: session.accountId, seq, outcome: 'delivered', reason: null, reporter: 'mqtt' })
      .catch((error: unknown) => this.deps.logger.warn({ err: error, thingId: parsed.thingId, seq }, 'could not record a command as delivered'))
  }

  private connection(session: DeviceSession, kind: 'connected' | 'disconnected'): Promise<void> {
    const at = this.deps.now()
    const message: TelemetryMessage = { kind, thingId: session.clientId, accountId: session.accountId, receivedAt: at.toISOString(), username: session.username }
    return this.deps.write(telemetryRecordOf(message, at.getTime()))
  }

  private async thingFor(session: DeviceSession, thingId: string): Promise<DeviceThing | undefined> {
    if (thingId === session.clientId) return session.thing
    let cache = this.things.get(session)
    if (cache === undefined) this.things.set(session, (cache = new Map()))
    const cached = cache.get(thingId)
    const now = performance.now()
    if (cached !== undefined && cached.until > now) return cached.thing
    const thing = await this.deps.directory.thingOfAccount(session.accountId, thingId)
    if (cache.size >= 1000) cache.clear()
    cache.set(thingId, { thing, until: now + thingCacheMs })
    return thing
  }
}

/** The first `bytes` of a payload as base64 (a Buffer, as aedes hands them, without a view made of it). */
function base64Of(payload: Uint8Array, bytes = rejectedPayloadBytes): string {
  const length = Math.min(payload.byteLength, bytes)
  if (Buffer.isBuffer(payload)) return length === payload.byteLength ? payload.toString('base64') : payload.toString('base64', 0, length)
  return Buffer.from(payload.buffer, payload.byteOffset, length).toString('base64')
}

/** The codecs never throw by contract; a bug there still must not stop the stream. */
function interpretSafely(topic: CayenneTopic, payload: Uint8Array, codec: string | null): Interpretation {
  try {
    return interpretPublish(topic, payload, codec)
  } catch (error) {
    return { kind: 'rejected', reason: `could not be read: ${error instanceof Error ? error.message : String(error)}` }
  }
}

/** Whose live connections an event ends: a rotated secret's, a thing no longer ACTIVE. */
export type Revocation = { readonly username: string } | { readonly thingId: string }

type RevokingEvent = MqttClientSecretRotated | ThingDeactivated | ThingUpdated

export function revocationOf(event: RecordedEvent): Revocation | null {
  const e = event as RecordedEvent<RevokingEvent>
  switch (e.type) {
    case 'MqttClientSecretRotated':
      return { username: e.data.clientId }
    case 'ThingDeactivated':
      return { thingId: e.data.thingId }
    case 'ThingUpdated': {
      const status = e.data.changes.status
      return status !== undefined && status !== 'ACTIVE' ? { thingId: e.data.thingId } : null
    }
    default:
      return null
  }
}

/**
 * Follows the log from its head and hands over each revocation once the read models
 * include it (so a device that reconnects at once is checked against the new state).
 * Every broker node runs its own: it ends the connections it holds.
 */
export async function watchRevocations(options: {
  readonly eventStore: EventStore
  /** resolves once the read models include `position` */
  readonly settled: (position: number) => Promise<unknown>
  readonly revoke: (revocation: Revocation) => void
  readonly logger: Logger
  readonly followers?: FollowerRegistry
}): Promise<LogFollower> {
  const follower = new LogFollower({
    name: 'mqtt-revocations',
    eventStore: options.eventStore,
    logger: options.logger,
    maxBatch: 500,
    eventTypes: ['MqttClientSecretRotated', 'ThingDeactivated', 'ThingUpdated'],
    startAt: 'head',
    handle: async (events) => {
      for (const event of events) {
        const revocation = revocationOf(event)
        if (revocation === null) continue
        await options.settled(event.position)
        options.revoke(revocation)
      }
    },
  })
  await follower.start()
  options.followers?.add(follower)
  return follower
}
