/**
 * Where the rules core plugs into the telemetry processor: after a batch's readings are
 * recorded as `SensorReadingRecorded` events, every hook sees them, in order per thing.
 * A batch can be delivered again after a crash (at least once), so a hook recognises a
 * reading it already saw by its `key`, which is unique and grows within a thing.
 */
export interface RecordedReading {
  /** `<partition>:<offset>:<index in the message>`; stable across redeliveries */
  readonly key: string
  readonly partition: number
  readonly offset: number
  readonly index: number
  readonly thingId: string
  readonly accountId: string
  readonly channel: string
  readonly type: string | null
  readonly unit: string | null
  readonly value: number | readonly number[] | string
  /** ISO time of the reading */
  readonly at: string
}

export interface ReadingHook {
  readonly name: string
  onReadings(readings: readonly RecordedReading[]): Promise<void>
}
