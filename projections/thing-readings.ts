/**
 * Read model `thingReadings`: the latest reading of each channel of a thing (value, type,
 * unit, time), for `GET /v1.1/things/{id}/data`. One document per (thing, channel), so a
 * batch of readings costs one write per channel, however many readings it holds.
 */
import type { SensorReadingCorrected, SensorReadingRecorded } from '../domain/telemetry/telemetry.ts'
import { projection } from './projection.ts'
import type { ReadStore } from '../domain/ports/read-store.ts'

export interface ThingReadingDocument {
  readonly id: string
  readonly thing_id: string
  readonly channel: string
  readonly type: string | null
  readonly unit: string | null
  readonly value: number | readonly number[] | string
  /** ISO time of the reading */
  readonly at: string
  /** `<partition>:<offset>:<index>` of the reading */
  readonly key: string
  readonly [field: string]: unknown
}

export const thingReadingsProjection = projection<SensorReadingRecorded | SensorReadingCorrected, ThingReadingDocument>({
  name: 'thingReadings',
  version: 1,
  collection: 'thing_readings',
  indexes: ['thing_id'],
  canHandle: ['SensorReadingRecorded', 'SensorReadingCorrected'],
  documentId: (event) => `${event.data.thingId}:${event.data.channel}`,
  evolve(document, event) {
    if (event.type === 'SensorReadingCorrected') {
      // Only when the corrected reading is still the channel's latest (a channel the correction moves it off keeps its own latest).
      const d = event.data
      if (!document || document.key !== d.corrects.key) return document
      return { ...document, type: d.type, unit: d.unit, value: d.value }
    }
    const d = event.data
    // Readings of a thing are recorded in order; a clock set back must still not hide the newest.
    if (document && Date.parse(document.at) > Date.parse(d.at)) return document
    return { id: `${d.thingId}:${d.channel}`, thing_id: d.thingId, channel: d.channel, type: d.type, unit: d.unit, value: d.value, at: d.at, key: d.key }
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
export async function latestReadingsOf(readStore: ReadStore, thingId: string): Promise<ThingReadingDocument[]> {
  const documents = await readStore.collection<ThingReadingDocument>(thingReadingsProjection.collection).find({ thing_id: thingId })
  return documents.sort((a, b) => compareChannels(a.channel, b.channel))
}
