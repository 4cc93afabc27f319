import t from 'tap'
import type { RecordedEvent } from '../../domain/ports/event-store.ts'
import type { ReadingFact } from '../../domain/telemetry/telemetry.ts'
import { thingReadingsProjection, type ThingReadingsDocument } from '../../projections/thing-readings.ts'

const thingId = 'thing-1'
const fact = (key: string, channel: string, value: number, at: string): ReadingFact => ({ key, channel, type: 'temp', unit: 'c', value, at, source: 'mqtt' })
const batch = (position: number, readings: readonly ReadingFact[]) =>
  ({ id: `e${position}`, streamName: `telemetry-${thingId}`, revision: position, position, type: 'SensorReadingsRecorded', data: { thingId, accountId: 'acc', readings }, metadata: {} }) as unknown as RecordedEvent
const evolve = (document: ThingReadingsDocument | null, event: RecordedEvent) =>
  thingReadingsProjection.evolve(document, event as Parameters<typeof thingReadingsProjection.evolve>[1])

t.test('each channel keeps its newest reading by time, within a batch and across batches', async (t) => {
  const first = evolve(null, batch(1, [fact('0:1:0', '1', 20, '2026-12-07T10:00:00.000Z'), fact('0:1:1', '2', 5, '2026-12-07T10:00:00.000Z'), fact('0:2:0', '1', 21, '2026-12-07T10:00:01.000Z')]))
  t.strictSame(Object.fromEntries(Object.entries(first!.channels).map(([c, r]) => [c, [r.value, r.key]])), { 1: [21, '0:2:0'], 2: [5, '0:1:1'] })
  // a clock set back: the older reading, recorded later, does not hide the newest
  const second = evolve(first, batch(2, [fact('0:3:0', '1', 19, '2026-12-07T09:59:00.000Z'), fact('0:4:0', '2', 6, '2026-12-07T10:00:00+00:00'), fact('0:5:0', '1', 22, '2026-12-07T10:00:01.000Z')]))
  t.strictSame(Object.fromEntries(Object.entries(second!.channels).map(([c, r]) => [c, [r.value, r.key]])), { 1: [22, '0:5:0'], 2: [6, '0:4:0'] }, 'the same time counts as newer')
  t.strictSame(first!.channels['1'], { channel: '1', type: 'temp', unit: 'c', value: 21, at: '2026-12-07T10:00:01.000Z', key: '0:2:0' }, 'the earlier document is left as it was')
})
