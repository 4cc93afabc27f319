/**
 * Read model `thingReadings`: the latest reading of each channel of a thing (value, type,
 * unit, time), for `GET /v1.1/things/{id}/data`. One document per thing holding its
 * channels, so a batch of readings costs one write per thing, however many readings and
 * channels it holds.
 */
import { recordedReadingsOf, type ReadingFact, type SensorReadingCorrected, type SensorReadingRecorded, type SensorReadingsRecorded } from '../domain/telemetry/telemetry.ts'
import { projection } from './projection.ts'
import { timesOfIsoText } from '../domain/time-text.ts'
import type { ReadStore } from '../domain/ports/read-store.ts'

/** A channel's latest reading. */
export interface LatestReading {
  readonly channel: string
  readonly type: string | null
  readonly unit: string | null
  readonly value: number | readonly number[] | string
  /** ISO time of the reading */
  readonly at: string
  /** `<partition>:<offset>:<index>` of the reading */
  readonly key: string
}

export interface ThingReadingsDocument {
  /** the thing's id */
  readonly id: string
  readonly channels: Readonly<Record<string, LatestReading>>
  readonly [field: string]: unknown
}

const latestOf = (reading: ReadingFact): LatestReading => ({
  channel: reading.channel,
  type: reading.type,
  unit: reading.unit,
  value: reading.value,
  at: reading.at,
  key: reading.key,
})

const timeOfReading = timesOfIsoText()

export const thingReadingsProjection = projection<SensorReadingsRecorded | SensorReadingRecorded | SensorReadingCorrected, ThingReadingsDocument>({
  name: 'thingReadings',
  version: 2,
  collection: 'thing_readings',
  indexes: [],
  canHandle: ['SensorReadingsRecorded', 'SensorReadingRecorded', 'SensorReadingCorrected'],
  documentId: (event) => event.data.thingId,
  evolve(document, event) {
    if (event.type === 'SensorReadingCorrected') {
      // Only when the corrected reading is still its channel's latest (a channel the correction moves it off keeps its own latest).
      const d = event.data
      const latest = document?.channels[d.channel]
      if (!document || latest?.key !== d.corrects.key) return document
      return { id: document.id, channels: { ...document.channels, [d.channel]: { ...latest, type: d.type, unit: d.unit, value: d.value } } }
    }
    // Readings of a thing are recorded in order; a clock set back must still not hide the
    // newest. Each channel's latest time is parsed once an event, and only the winners copied.
    const newest = new Map<string, { readonly reading: ReadingFact; readonly ms: number }>()
    for (const reading of recordedReadingsOf(event)) {
      const ms = timeOfReading(reading.at)
      const before = newest.get(reading.channel)
      const latest = document?.channels[reading.channel]
      const latestMs = before !== undefined ? before.ms : latest !== undefined ? Date.parse(latest.at) : undefined
      if (latestMs === undefined || latestMs <= ms) newest.set(reading.channel, { reading, ms })
    }
    const channels: Record<string, LatestReading> = { ...document?.channels }
    for (const [channel, { reading }] of newest) channels[channel] = latestOf(reading)
    return { id: event.data.thingId, channels }
  },
})

/** Channels in their natural order: 2 before 10, numbers before names. */
export function compareChannels(a: string, b: string): number {
  const na = /^\d+$/.test(a) ? Number(a) : NaN
  const nb = /^\d+$/.test(b) ? Number(b) : NaN
  if (!Number.isNaN(na) && !Number.isNaN(nb)) return na - nb
  if (!Number.isNaN(na)) return -1
  if (!Number.isNaN(nb)) return 1
  return a < b ? -1 : a > b ? 1 : 0
}

/** The thing's latest reading per channel. */
export async function latestReadingsOf(readStore: ReadStore, thingId: string): Promise<LatestReading[]> {
  const document = await readStore.collection<ThingReadingsDocument>(thingReadingsProjection.collection).get(thingId)
  return Object.values(document?.channels ?? {}).sort((a, b) => compareChannels(a.channel, b.channel))
}
