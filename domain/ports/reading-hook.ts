/**
 * Where the rules core plugs into the telemetry processor: after a batch's readings are
 * recorded (`SensorReadingsRecorded`), every hook sees them, in order per thing.
 * A batch can be delivered again after a crash (at least once), so a hook recognises a
 * reading it already saw by its `key`, which is unique and grows within a thing.
 */
import type { ReadingFact } from '../telemetry/telemetry.ts'

export type RecordedReading = Pick<ReadingFact, 'key' | 'channel' | 'type' | 'unit' | 'value' | 'at'> & {
  readonly thingId: string
  readonly accountId: string
  /** where the reading's record is on the telemetry stream (its `key` says the same) */
  readonly partition: number
  readonly offset: number
  readonly index: number
}

export interface ReadingHook {
  readonly name: string
  onReadings(readings: readonly RecordedReading[]): Promise<void>
}
