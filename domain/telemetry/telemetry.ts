/**
 * A thing's telemetry as events, in the stream `telemetry-<thingId>`: the readings it
 * sent, what it said about itself (`sys/*`), its connections, and what could not be read.
 * The telemetry processor appends them from the telemetry stream; `key` names the
 * stream record a fact came from, so a redelivered record is recognised and skipped.
 */
import type { DomainEvent } from '../decider.ts'

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
  }
>
