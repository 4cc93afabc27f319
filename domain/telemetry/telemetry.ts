/**
 * A thing's telemetry as events, in the stream `telemetry-<thingId>`: the readings it
 * sent, what it said about itself (`sys/*`), its connections, and what could not be read.
 * The telemetry processor appends them from the telemetry stream; `key` names the
 * stream record a fact came from, so a redelivered record is recognised and skipped.
 *
 * The decider's whole state is the last record recorded: records of one thing arrive in
 * order within its partition, so a record at or before it was recorded already.
 */
import { unreachable, type Command, type Decider, type DomainEvent } from '../decider.ts'
import type { RecordCommandOutcome } from '../thing/thing.ts'
import type { TelemetryMessage } from './telemetry-message.ts'

export const telemetryStreamOf = (thingId: string): string => `telemetry-${thingId}`

export type SensorReadingRecorded = DomainEvent<
  'SensorReadingRecorded',
  {
    /** `<partition>:<offset>:<index>` of the telemetry record */
    readonly key: string
    readonly thingId: string
    readonly accountId: string
    readonly channel: string
    readonly type: string | null
    readonly unit: string | null
    readonly value: number | readonly number[] | string
    /** ISO time of the reading (when the server received it) */
    readonly at: string
    readonly source: 'mqtt' | 'http'
    /**
     * The raw payload the readings of this record were decoded from, kept for re-decoding:
     * on the record's first reading (index 0) only; the others reach it by their key's
     * `<partition>:<offset>`. Absent on readings recorded before payloads were kept.
     */
    readonly raw?: KeptPayload
  }
>

/** A payload as received: the MQTT topic (null for the HTTP ingest, whose body is `data/json`) and the bytes as base64. */
export interface KeptPayload {
  readonly topic: string | null
  readonly payload: string
}

/** What a reading says: its channel and value, with type and unit. */
export interface ReadingValue {
  readonly channel: string
  readonly type: string | null
  readonly unit: string | null
  readonly value: number | readonly number[] | string
}

/**
 * A recorded reading decoded again from its kept payload (after a codec fix) said
 * something else: the reading as it is now. The recorded event stays as it was; read
 * models, history and the what-if use the correction from here on.
 */
export type SensorReadingCorrected = DomainEvent<
  'SensorReadingCorrected',
  {
    readonly thingId: string
    readonly accountId: string
    /** the SensorReadingRecorded corrected: its event id, its revision in this stream, its log position and key */
    readonly corrects: { readonly eventId: string; readonly revision: number; readonly position: number; readonly key: string }
    /** ISO time of the reading corrected */
    readonly at: string
    /** what it said until now (the recorded value, or the previous correction's) */
    readonly previous: ReadingValue
    readonly channel: string
    readonly type: string | null
    readonly unit: string | null
    readonly value: number | readonly number[] | string
    /** the codec the payload was decoded with; null for the text codecs */
    readonly codec: string | null
    /** the key of the last record the stream held when corrected (the processor's state, see evolve) */
    readonly recordedThrough: string | null
  }
>

interface FactBase {
  /** `<partition>:<offset>:0` of the telemetry record */
  readonly key: string
  readonly thingId: string
  readonly accountId: string
  /** ISO time the server received it */
  readonly at: string
}

/** A `sys/*` fact: `model`, `version`, `cpu/model`, `cpu/speed`, `conn`, ... */
export type DeviceInfoReported = DomainEvent<'DeviceInfoReported', FactBase & { readonly name: string; readonly value: string }>

/** `username` is the MQTT client id the connection used */
export type DeviceConnected = DomainEvent<'DeviceConnected', FactBase & { readonly username: string }>
export type DeviceDisconnected = DomainEvent<'DeviceDisconnected', FactBase & { readonly username: string }>

/** A payload that could not be read, kept for auditors. */
export type ReadingRejected = DomainEvent<
  'ReadingRejected',
  FactBase & {
    readonly source: 'mqtt' | 'http'
    readonly topic: string | null
    /** base64, at most 4 KiB of it */
    readonly payload: string
    readonly reason: string
  }
>

export type TelemetryEvent = SensorReadingRecorded | DeviceInfoReported | DeviceConnected | DeviceDisconnected | ReadingRejected | SensorReadingCorrected

export const telemetryEventTypes = [
  'SensorReadingRecorded',
  'DeviceInfoReported',
  'DeviceConnected',
  'DeviceDisconnected',
  'ReadingRejected',
  'SensorReadingCorrected',
] as const satisfies readonly TelemetryEvent['type'][]

/** What a telemetry record says: the message the bridge and the HTTP ingest put on the telemetry stream. */
export type TelemetryFact = TelemetryMessage

export type RecordTelemetry = Command<'RecordTelemetry', { readonly partition: number; readonly offset: number; readonly fact: TelemetryFact }>

export interface TelemetryState {
  /** the record the last event came from; null before the first */
  readonly last: { readonly partition: number; readonly offset: number } | null
}

export const telemetryKey = (partition: number, offset: number, index: number): string => `${partition}:${offset}:${index}`

/** `<partition>:<offset>:<index>` → its parts; undefined for anything else. */
export function parseTelemetryKey(key: string): { partition: number; offset: number; index: number } | undefined {
  const match = /^(\d+):(\d+):(\d+)$/.exec(key)
  if (!match) return undefined
  return { partition: Number(match[1]), offset: Number(match[2]), index: Number(match[3]) }
}

/** True when the record at (partition, offset) is at or before the last one recorded. */
export function alreadyRecorded(state: TelemetryState, partition: number, offset: number): boolean {
  return state.last !== null && state.last.partition === partition && offset <= state.last.offset
}

export const telemetryDecider: Decider<TelemetryState, RecordTelemetry, TelemetryEvent> = {
  initialState: { last: null },

  decide(command, state) {
    const { partition, offset, fact } = command.data
    if (alreadyRecorded(state, partition, offset)) return []
    const base = (): FactBase => ({ key: telemetryKey(partition, offset, 0), thingId: fact.thingId, accountId: fact.accountId, at: fact.receivedAt })
    switch (fact.kind) {
      case 'readings':
        // a literal, not a spread of `base`: this runs for every reading
        return fact.readings.map((reading, index) => ({
          type: 'SensorReadingRecorded',
          data: {
            key: telemetryKey(partition, offset, index),
            thingId: fact.thingId,
            accountId: fact.accountId,
            at: fact.receivedAt,
            channel: reading.channel,
            type: reading.type,
            unit: reading.unit,
            value: reading.value,
            source: fact.source,
            ...(index === 0 && fact.payload !== undefined ? { raw: { topic: fact.topic, payload: fact.payload } } : {}),
          },
        }))
      case 'sys':
        return [{ type: 'DeviceInfoReported', data: { ...base(), name: fact.key, value: fact.value } }]
      case 'connected':
        return [{ type: 'DeviceConnected', data: { ...base(), username: fact.username } }]
      case 'disconnected':
        return [{ type: 'DeviceDisconnected', data: { ...base(), username: fact.username } }]
      case 'rejected':
        return [
          {
            type: 'ReadingRejected',
            data: { ...base(), source: fact.source, topic: fact.topic, payload: fact.payload, reason: fact.reason },
          },
        ]
      case 'response':
        // An answer to a command belongs to the thing (commandOutcomeOf), not to its telemetry.
        return []
      default:
        return unreachable(fact)
    }
  },

  evolve(state, event) {
    // A correction records nothing new, but it may be the stream's last event, from which the processor loads its state.
    const key = parseTelemetryKey((event.type === 'SensorReadingCorrected' ? event.data.recordedThrough : event.data.key) ?? '')
    return key ? { last: { partition: key.partition, offset: key.offset } } : state
  },
}

/**
 * What a device's `ok,seq` / `error,seq=message` means for the thing's command `seq`.
 * Our commands are numbered 1, 2, ...; any other seq (the official test clients echo
 * their own `cmd` publishes, with seqs like `senderror`) is no command of ours: null.
 */
export function commandOutcomeOf(fact: Extract<TelemetryFact, { kind: 'response' }>): RecordCommandOutcome | null {
  if (!/^[1-9]\d{0,14}$/.test(fact.seq)) return null
  return {
    type: 'RecordCommandOutcome',
    data: {
      thingId: fact.thingId,
      seq: Number(fact.seq),
      outcome: fact.ok ? 'acknowledged' : 'failed',
      reason: fact.ok ? null : (fact.message ?? 'the device reported an error'),
    },
  }
}
