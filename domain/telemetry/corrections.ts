/**
 * Re-decoding after a codec fix, decided purely: the state is every reading of a thing's
 * telemetry stream as it stands (recorded, then corrected), folded from the stream; the
 * command brings what the kept payloads decode to now; the decision is one
 * `SensorReadingCorrected` per reading whose channel, type, unit or value differs. A
 * reading that already says what the payload decodes to gets none, so deciding again
 * after the corrections were appended decides nothing (idempotent).
 */
import type { Command, DomainEvent } from '../decider.ts'
import type { KeptPayload, ReadingFact, ReadingValue, SensorReadingCorrected, SensorReadingRecorded, SensorReadingsRecorded } from './telemetry.ts'

/** A reading as it stands now, with where its recorded event sits. */
export interface CurrentReading extends ReadingValue {
  readonly eventId: string
  readonly revision: number
  readonly position: number
  /** its index among the readings of a `SensorReadingsRecorded`; absent for a `SensorReadingRecorded` (one reading) */
  readonly index?: number
  readonly key: string
  readonly thingId: string
  readonly accountId: string
  readonly at: string
  /** on the record's first reading: the payload the record's readings came from */
  readonly raw?: KeptPayload
}

/** An event of the stream with the envelope fields the fold needs. */
export interface StoredTelemetryEvent {
  readonly id: string
  readonly revision: number
  readonly position: number
  readonly type: string
  readonly data: unknown
}

/** Readings by key, in recording order, each as its last correction left it. */
export type ReadingsState = ReadonlyMap<string, CurrentReading>

export function readingsOf(events: Iterable<StoredTelemetryEvent>): Map<string, CurrentReading> {
  const readings = new Map<string, CurrentReading>()
  const add = (event: StoredTelemetryEvent, owner: { thingId: string; accountId: string }, d: ReadingFact, index?: number): void => {
    readings.set(d.key, {
      eventId: event.id,
      revision: event.revision,
      position: event.position,
      ...(index === undefined ? {} : { index }),
      key: d.key,
      thingId: owner.thingId,
      accountId: owner.accountId,
      at: d.at,
      channel: d.channel,
      type: d.type,
      unit: d.unit,
      value: d.value,
      ...(d.raw ? { raw: d.raw } : {}),
    })
  }
  for (const event of events) {
    if (event.type === 'SensorReadingsRecorded') {
      const d = (event as unknown as DomainEvent & { data: SensorReadingsRecorded['data'] }).data
      d.readings.forEach((reading, index) => add(event, d, reading, index))
    } else if (event.type === 'SensorReadingRecorded') {
      const d = (event as unknown as DomainEvent & { data: SensorReadingRecorded['data'] }).data
      add(event, d, d)
    } else if (event.type === 'SensorReadingCorrected') {
      const d = (event.data as SensorReadingCorrected['data'])
      const reading = readings.get(d.corrects.key)
      if (reading) readings.set(d.corrects.key, { ...reading, channel: d.channel, type: d.type, unit: d.unit, value: d.value })
    }
  }
  return readings
}

/** `<partition>:<offset>` of a reading key `<partition>:<offset>:<index>`: the record it came from. */
export const recordOf = (key: string): string => key.slice(0, key.lastIndexOf(':'))

/**
 * What one record's kept payload decodes to now: the readings in order (index 0, 1, ...),
 * or why it cannot be used (the decode rejected it, or it yields another number of readings
 * than were recorded, which no correction of single readings can express).
 */
export type Redecoded = { readonly record: string; readonly readings: readonly ReadingValue[] } | { readonly record: string; readonly problem: string }

export type CorrectReadings = Command<
  'CorrectReadings',
  {
    readonly codec: string | null
    readonly redecoded: readonly Redecoded[]
    /** key of the last record the stream holds (see SensorReadingCorrected.recordedThrough) */
    readonly recordedThrough: string | null
  }
>

const sameValue = (a: ReadingValue['value'], b: ReadingValue['value']): boolean =>
  typeof a === 'object' && typeof b === 'object' ? a.length === b.length && a.every((x, i) => x === b[i]) : a === b

const sameReading = (a: ReadingValue, b: ReadingValue): boolean => a.channel === b.channel && a.type === b.type && a.unit === b.unit && sameValue(a.value, b.value)

export interface CorrectionDecision {
  readonly events: readonly SensorReadingCorrected[]
  /** records that could not be used, with the reason */
  readonly skipped: readonly { readonly record: string; readonly problem: string }[]
}

export function decideCorrections(command: CorrectReadings, state: ReadingsState): CorrectionDecision {
  const events: SensorReadingCorrected[] = []
  const skipped: { record: string; problem: string }[] = []
  for (const item of command.data.redecoded) {
    if ('problem' in item) {
      skipped.push({ record: item.record, problem: item.problem })
      continue
    }
    const recorded: CurrentReading[] = []
    for (let index = 0; state.has(`${item.record}:${index}`); index++) recorded.push(state.get(`${item.record}:${index}`)!)
    if (recorded.length !== item.readings.length) {
      skipped.push({ record: item.record, problem: `decodes to ${item.readings.length} reading(s), ${recorded.length} were recorded` })
      continue
    }
    recorded.forEach((current, index) => {
      const now = item.readings[index]!
      if (sameReading(current, now)) return
      events.push({
        type: 'SensorReadingCorrected',
        data: {
          thingId: current.thingId,
          accountId: current.accountId,
          corrects: {
            eventId: current.eventId,
            revision: current.revision,
            position: current.position,
            key: current.key,
            ...(current.index === undefined ? {} : { index: current.index }),
          },
          at: current.at,
          previous: { channel: current.channel, type: current.type, unit: current.unit, value: current.value },
          channel: now.channel,
          type: now.type,
          unit: now.unit,
          value: now.value,
          codec: command.data.codec,
          recordedThrough: command.data.recordedThrough,
        },
      })
    })
  }
  return { events, skipped }
}
