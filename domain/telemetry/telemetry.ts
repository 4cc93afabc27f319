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

/** One reading as recorded: where it came from, what it says, when. */
export interface ReadingFact {
  /** `<partition>:<offset>:<index>` of the telemetry record */
  readonly key: string
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

/**
 * The readings of a thing that one batch of the telemetry processor brought, in the order
 * they were received: one event for many readings, so a busy device costs one row, one
 * id and one parse per batch instead of per reading. Auditors still see every reading,
 * with its key and its raw payload.
 */
export type SensorReadingsRecorded = DomainEvent<
  'SensorReadingsRecorded',
  {
    readonly thingId: string
    readonly accountId: string
    readonly readings: readonly ReadingFact[]
  }
>

/**
 * One reading as one event: what the processor recorded before readings were batched
 * (`SensorReadingsRecorded`). Logs keep them; every reader of readings reads both, through
 * `recordedReadingsOf`.
 */
export type SensorReadingRecorded = DomainEvent<'SensorReadingRecorded', ReadingFact & { readonly thingId: string; readonly accountId: string }>

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
    /**
     * The reading corrected: its event's id, revision in this stream and log position, its
     * key, and its index among the event's readings (absent for a `SensorReadingRecorded`,
     * which holds one)
     */
    readonly corrects: { readonly eventId: string; readonly revision: number; readonly position: number; readonly key: string; readonly index?: number }
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

export type TelemetryEvent =
  | SensorReadingsRecorded
  | SensorReadingRecorded
  | DeviceInfoReported
  | DeviceConnected
  | DeviceDisconnected
  | ReadingRejected
  | SensorReadingCorrected

export const telemetryEventTypes = [
  'SensorReadingsRecorded',
  'SensorReadingRecorded',
  'DeviceInfoReported',
  'DeviceConnected',
  'DeviceDisconnected',
  'ReadingRejected',
  'SensorReadingCorrected',
] as const satisfies readonly TelemetryEvent['type'][]

/** What a telemetry record says: the message the bridge and the HTTP ingest put on the telemetry stream. */
export type TelemetryFact = TelemetryMessage

/** A record of the telemetry stream: where it is, and what it says. */
export interface TelemetryRecordFact {
  readonly partition: number
  readonly offset: number
  readonly fact: TelemetryFact
}

/** A thing's records of one batch of the telemetry stream, in stream order. */
export type RecordTelemetry = Command<'RecordTelemetry', { readonly records: readonly TelemetryRecordFact[] }>

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

/** The most readings one `SensorReadingsRecorded` holds: events stay small enough for every engine (raw payloads ride along). */
export const maxReadingsPerEvent = 500

/** The readings an event recorded, whichever of the two shapes it has; none for any other event. */
export function recordedReadingsOf(event: { readonly type: string; readonly data: unknown }): readonly ReadingFact[] {
  if (event.type === 'SensorReadingsRecorded') return (event.data as SensorReadingsRecorded['data']).readings
  if (event.type === 'SensorReadingRecorded') return [event.data as SensorReadingRecorded['data']]
  return []
}

/** The facts of one record other than readings. */
function factEventOf(partition: number, offset: number, fact: Exclude<TelemetryFact, { kind: 'readings' }>): TelemetryEvent | undefined {
  const base: FactBase = { key: telemetryKey(partition, offset, 0), thingId: fact.thingId, accountId: fact.accountId, at: fact.receivedAt }
  switch (fact.kind) {
    case 'sys':
      return { type: 'DeviceInfoReported', data: { ...base, name: fact.key, value: fact.value } }
    case 'connected':
      return { type: 'DeviceConnected', data: { ...base, username: fact.username } }
    case 'disconnected':
      return { type: 'DeviceDisconnected', data: { ...base, username: fact.username } }
    case 'rejected':
      return { type: 'ReadingRejected', data: { ...base, source: fact.source, topic: fact.topic, payload: fact.payload, reason: fact.reason } }
    case 'response':
      // An answer to a command belongs to the thing (commandOutcomeOf), not to its telemetry.
      return undefined
    default:
      return unreachable(fact)
  }
}

export const telemetryDecider: Decider<TelemetryState, RecordTelemetry, TelemetryEvent> = {
  initialState: { last: null },

  /**
   * Records not yet recorded become events in stream order: consecutive readings (of
   * several records) one `SensorReadingsRecorded`, every other fact an event of its own.
   */
  decide(command, state) {
    const events: TelemetryEvent[] = []
    let readings: ReadingFact[] = []
    // the records of one stream are one thing's
    let owner: { readonly thingId: string; readonly accountId: string } | undefined
    const flush = (): void => {
      if (readings.length > 0) events.push({ type: 'SensorReadingsRecorded', data: { thingId: owner!.thingId, accountId: owner!.accountId, readings } })
      readings = []
    }
    let last = state.last
    for (const { partition, offset, fact } of command.data.records) {
      // at or before the last record recorded: delivered again (records of a thing arrive in order within its partition)
      if (last !== null && last.partition === partition && offset <= last.offset) continue
      last = { partition, offset }
      if (fact.kind !== 'readings') {
        const event = factEventOf(partition, offset, fact)
        if (event) {
          flush()
          events.push(event)
        }
        continue
      }
      owner ??= fact
      for (let index = 0; index < fact.readings.length; index++) {
        if (readings.length === maxReadingsPerEvent) flush()
        const key = telemetryKey(partition, offset, index)
        const { channel, type, unit, value } = fact.readings[index]!
        const { receivedAt: at, source } = fact
        // literals, not spreads: this runs for every reading
        readings.push(
          index === 0 && fact.payload !== undefined
            ? { key, channel, type, unit, value, at, source, raw: { topic: fact.topic, payload: fact.payload } }
            : { key, channel, type, unit, value, at, source },
        )
      }
    }
    flush()
    return events
  },

  evolve(state, event) {
    // A correction records nothing new, but it may be the stream's last event, from which the processor loads its state.
    let key: string | null
    if (event.type === 'SensorReadingsRecorded') key = event.data.readings[event.data.readings.length - 1]?.key ?? null
    else if (event.type === 'SensorReadingCorrected') key = event.data.recordedThrough
    else key = event.data.key
    const parsed = key === null ? undefined : parseTelemetryKey(key)
    return parsed ? { last: { partition: parsed.partition, offset: parsed.offset } } : state
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
