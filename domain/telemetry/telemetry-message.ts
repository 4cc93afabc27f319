/**
 * What the telemetry stream carries: one JSON message per record, keyed by thing id.
 * The Aedes bridge and the HTTP ingest write them (already parsed, or rejected with the
 * reason); the telemetry processor turns them into events. A record is never dropped:
 * what cannot be parsed is kept as `rejected`, so an auditor sees it.
 */
export interface Reading {
  /** `"2"` for an MQTT channel; the Cayenne agent's channels are text (`sys:cpu;load`) */
  readonly channel: string
  readonly type: string | null
  readonly unit: string | null
  /** one number; several for multi-value forms (accelerometer x,y,z; GPS lat,lon,alt); or text */
  readonly value: number | readonly number[] | string
}

interface MessageBase {
  readonly thingId: string
  readonly accountId: string
  /** ISO time the server received it */
  readonly receivedAt: string
}

export type TelemetryMessage =
  | (MessageBase & {
      readonly kind: 'readings'
      readonly source: 'mqtt' | 'http'
      readonly topic: string | null
      readonly readings: readonly Reading[]
      /** the raw payload as base64 (the HTTP ingest: its JSON body), kept so the readings can be decoded again */
      readonly payload?: string
    })
  /** an answer on `.../response`: `ok,seq` or `error,seq=message` */
  | (MessageBase & { readonly kind: 'response'; readonly seq: string; readonly ok: boolean; readonly message: string | null })
  /** a `sys/*` fact: key `model`, `version`, `cpu/model`, `cpu/speed`, `conn`, ... */
  | (MessageBase & { readonly kind: 'sys'; readonly key: string; readonly value: string })
  /** the device's connection opened or closed; `username` is the MQTT client id it used */
  | (MessageBase & { readonly kind: 'connected' | 'disconnected'; readonly username: string })
  | (MessageBase & {
      readonly kind: 'rejected'
      readonly source: 'mqtt' | 'http'
      readonly topic: string | null
      /** the payload as base64, at most 4 KiB of it */
      readonly payload: string
      readonly reason: string
    })

export type TelemetryMessageKind = TelemetryMessage['kind']

/**
 * A message as the telemetry stream stores it: the fields of a record to produce
 * (ports/telemetry-stream.ts), named here because that port imports this module.
 */
export interface StoredTelemetryMessage {
  readonly key: string
  readonly value: string
  readonly timestamp: number
}

/**
 * A message as a record of the telemetry stream. Its JSON text leaves out the thing id and
 * the time received: the record carries them as its key and timestamp. That is 88 of the
 * ~370 bytes of a reading's record, each written, committed and checkpointed with it.
 * `receivedAt`: the message's `receivedAt`, in milliseconds.
 */
export function telemetryRecordOf(message: TelemetryMessage, receivedAt: number): StoredTelemetryMessage & { readonly message: TelemetryMessage } {
  // readings, the message of nearly every record, as a literal: taking the rest of an object
  // (`...stored`) costs more than the shorter text saves
  const stored =
    message.kind === 'readings'
      ? { accountId: message.accountId, kind: message.kind, source: message.source, topic: message.topic, readings: message.readings, payload: message.payload }
      : withoutThingAndTime(message)
  return { key: message.thingId, value: JSON.stringify(stored), timestamp: receivedAt, message }
}

function withoutThingAndTime(message: TelemetryMessage): Omit<TelemetryMessage, 'thingId' | 'receivedAt'> {
  const { thingId: _thingId, receivedAt: _receivedAt, ...stored } = message
  return stored
}

const kinds = new Set<TelemetryMessageKind>(['readings', 'response', 'sys', 'connected', 'disconnected', 'rejected'])

/**
 * The message of a record, its thing id and time received from the record's key and
 * timestamp unless its text has them (records written before 2026-12 do); undefined when
 * it is not a message (neither the bridge nor the HTTP ingest writes such a record).
 */
export function messageOfRecord(record: StoredTelemetryMessage): TelemetryMessage | undefined {
  let stored: unknown
  try {
    stored = JSON.parse(record.value)
  } catch {
    return undefined
  }
  if (typeof stored !== 'object' || stored === null) return undefined
  const message = stored as Partial<MessageBase> & { kind?: unknown }
  if (!kinds.has(message.kind as TelemetryMessageKind)) return undefined
  const thingId = message.thingId ?? record.key
  const receivedAt = message.receivedAt ?? (Number.isFinite(record.timestamp) ? new Date(record.timestamp).toISOString() : undefined)
  if (typeof thingId !== 'string' || typeof message.accountId !== 'string' || typeof receivedAt !== 'string' || Number.isNaN(Date.parse(receivedAt))) return undefined
  return { ...(stored as TelemetryMessage), thingId, receivedAt }
}
