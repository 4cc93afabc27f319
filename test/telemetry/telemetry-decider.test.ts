/** The telemetry decider: records become facts once, whatever is delivered again. */
import t from 'tap'
import {
  commandOutcomeOf,
  maxReadingsPerEvent,
  recordedReadingsOf,
  telemetryDecider,
  type RecordTelemetry,
  type TelemetryEvent,
  type TelemetryFact,
} from '../../domain/telemetry/telemetry.ts'
import { given } from '../helpers/decider-spec.ts'

const now = new Date('2026-05-01T10:00:00.000Z')
const at = '2026-05-01T09:59:59.500Z'
const spec = given(telemetryDecider, now)
const thingId = '11111111-1111-4111-8111-111111111111'
const device = { thingId, accountId: 'acc-1', receivedAt: at }

const record = (partition: number, offset: number, fact: TelemetryFact): RecordTelemetry => ({ type: 'RecordTelemetry', data: { records: [{ partition, offset, fact }] } })
const records = (...list: [partition: number, offset: number, fact: TelemetryFact][]): RecordTelemetry => ({
  type: 'RecordTelemetry',
  data: { records: list.map(([partition, offset, fact]) => ({ partition, offset, fact })) },
})
const readings: TelemetryFact = {
  ...device,
  kind: 'readings',
  source: 'mqtt',
  topic: 'v1/u/things/t/data/json',
  readings: [
    { channel: '1', type: 'temp', unit: 'c', value: 21.5 },
    { channel: '2', type: 'accel', unit: 'g', value: [1.5, -2, 0.25] },
  ],
}
const recorded = (partition: number, offset: number, index: number, channel = '1'): TelemetryEvent => ({
  type: 'SensorReadingsRecorded',
  data: { thingId, accountId: 'acc-1', readings: [{ key: `${partition}:${offset}:${index}`, channel, type: 'temp', unit: 'c', value: 20, at, source: 'mqtt' }] },
})
/** the one-reading event the processor recorded before readings were batched */
const recordedAlone = (partition: number, offset: number, index: number): TelemetryEvent => ({
  type: 'SensorReadingRecorded',
  data: { key: `${partition}:${offset}:${index}`, thingId, accountId: 'acc-1', channel: '1', type: 'temp', unit: 'c', value: 20, at, source: 'mqtt' },
})
const keysOf = (events: readonly TelemetryEvent[]) => events.map((e) => (recordedReadingsOf(e).length > 0 ? recordedReadingsOf(e).map((r) => r.key) : e.type))
const temperature = (value: number, receivedAt = at): TelemetryFact => ({
  ...device,
  receivedAt,
  kind: 'readings',
  source: 'mqtt',
  topic: 'v1/u/things/t/data/1',
  readings: [{ channel: '1', type: 'temp', unit: 'c', value }],
  payload: Buffer.from(`temp,c=${value}`).toString('base64'),
})

t.test('a thing with no telemetry yet', async (t) => {
  t.test('records the readings of a record as one event, each keyed by partition, offset and index', async (t) => {
    spec([]).when(record(3, 17, readings)).then(t, [
      {
        type: 'SensorReadingsRecorded',
        data: {
          thingId,
          accountId: 'acc-1',
          readings: [
            { key: '3:17:0', channel: '1', type: 'temp', unit: 'c', value: 21.5, at, source: 'mqtt' },
            { key: '3:17:1', channel: '2', type: 'accel', unit: 'g', value: [1.5, -2, 0.25], at, source: 'mqtt' },
          ],
        },
      },
    ])
  })
  t.test('records the readings of several records as one event, in order, each with its time and raw payload on its first reading', async (t) => {
    const later = '2026-05-01T09:59:59.750Z'
    spec([]).when(records([3, 17, temperature(20)], [3, 18, { ...readings, receivedAt: later }], [3, 19, temperature(21, later)])).then(t, [
      {
        type: 'SensorReadingsRecorded',
        data: {
          thingId,
          accountId: 'acc-1',
          readings: [
            { key: '3:17:0', channel: '1', type: 'temp', unit: 'c', value: 20, at, source: 'mqtt', raw: { topic: 'v1/u/things/t/data/1', payload: 'dGVtcCxjPTIw' } },
            { key: '3:18:0', channel: '1', type: 'temp', unit: 'c', value: 21.5, at: later, source: 'mqtt' },
            { key: '3:18:1', channel: '2', type: 'accel', unit: 'g', value: [1.5, -2, 0.25], at: later, source: 'mqtt' },
            { key: '3:19:0', channel: '1', type: 'temp', unit: 'c', value: 21, at: later, source: 'mqtt', raw: { topic: 'v1/u/things/t/data/1', payload: 'dGVtcCxjPTIx' } },
          ],
        },
      },
    ])
  })
  t.test('another fact between readings keeps the stream order: readings before it, it, readings after it', async (t) => {
    const events = telemetryDecider.decide(
      records([0, 1, temperature(1)], [0, 2, temperature(2)], [0, 3, { ...device, kind: 'sys', key: 'model', value: 'Uno' }], [0, 4, { ...device, kind: 'response', seq: '1', ok: true, message: null }], [0, 5, temperature(5)]),
      telemetryDecider.initialState,
      now,
    )
    t.strictSame(keysOf(events), [['0:1:0', '0:2:0'], 'DeviceInfoReported', ['0:5:0']])
  })
  t.test(`an event holds at most ${maxReadingsPerEvent} readings; the rest go on in the next`, async (t) => {
    const many = Array.from({ length: maxReadingsPerEvent + 3 }, (_, i): [number, number, TelemetryFact] => [0, i, temperature(i)])
    const events = telemetryDecider.decide(records(...many), telemetryDecider.initialState, now)
    t.strictSame(events.map((e) => recordedReadingsOf(e).length), [maxReadingsPerEvent, 3])
    t.strictSame(events.flatMap((e) => recordedReadingsOf(e).map((r) => r.value)), many.map((_, i) => i), 'every reading, in order')
    t.strictSame(events.reduce(telemetryDecider.evolve, telemetryDecider.initialState), { last: { partition: 0, offset: maxReadingsPerEvent + 2 } })
  })
  t.test('records what the device says about itself', async (t) => {
    spec([]).when(record(0, 4, { ...device, kind: 'sys', key: 'cpu/model', value: 'ARMv7' })).then(t, [
      { type: 'DeviceInfoReported', data: { key: '0:4:0', thingId, accountId: 'acc-1', at, name: 'cpu/model', value: 'ARMv7' } },
    ])
  })
  t.test('records its connections', async (t) => {
    spec([]).when(record(0, 5, { ...device, kind: 'connected', username: 'user-1' })).then(t, [
      { type: 'DeviceConnected', data: { key: '0:5:0', thingId, accountId: 'acc-1', at, username: 'user-1' } },
    ])
    spec([]).when(record(0, 6, { ...device, kind: 'disconnected', username: 'user-1' })).then(t, [
      { type: 'DeviceDisconnected', data: { key: '0:6:0', thingId, accountId: 'acc-1', at, username: 'user-1' } },
    ])
  })
  t.test('keeps what could not be read, with the reason', async (t) => {
    const fact: TelemetryFact = { ...device, kind: 'rejected', source: 'http', topic: null, payload: 'AAE=', reason: 'not JSON' }
    spec([]).when(record(1, 0, fact)).then(t, [
      { type: 'ReadingRejected', data: { key: '1:0:0', thingId, accountId: 'acc-1', at, source: 'http', topic: null, payload: 'AAE=', reason: 'not JSON' } },
    ])
  })
  t.test('records nothing of an answer to a command: that belongs to the thing', async (t) => {
    spec([]).when(record(0, 1, { ...device, kind: 'response', seq: '1', ok: true, message: null })).thenNothingHappened(t)
  })
  t.test('records nothing of an empty batch of readings', async (t) => {
    spec([]).when(record(0, 1, { ...readings, readings: [] })).thenNothingHappened(t)
  })
})

t.test('a thing with recorded telemetry', async (t) => {
  const history = [recorded(3, 17, 0), recorded(3, 17, 1, '2')]
  t.test('skips the record it came from, delivered again', async (t) => {
    spec(history).when(record(3, 17, readings)).thenNothingHappened(t)
  })
  t.test('skips an earlier record of the same partition', async (t) => {
    spec(history).when(record(3, 9, readings)).thenNothingHappened(t)
  })
  t.test('records the next record', async (t) => {
    const events = telemetryDecider.decide(record(3, 18, readings), history.reduce(telemetryDecider.evolve, telemetryDecider.initialState), now)
    t.strictSame(keysOf(events), [['3:18:0', '3:18:1']])
  })
  t.test('of a batch delivered again in part, records only what follows the last record recorded', async (t) => {
    const events = telemetryDecider.decide(records([3, 16, readings], [3, 17, readings], [3, 18, readings]), history.reduce(telemetryDecider.evolve, telemetryDecider.initialState), now)
    t.strictSame(keysOf(events), [['3:18:0', '3:18:1']])
  })
  t.test('a stream of one-reading events (recorded before batching) is known the same way', async (t) => {
    spec([recordedAlone(3, 17, 0), recordedAlone(3, 17, 1)]).when(record(3, 17, readings)).thenNothingHappened(t)
    const events = telemetryDecider.decide(record(3, 18, readings), [recordedAlone(3, 17, 0)].reduce(telemetryDecider.evolve, telemetryDecider.initialState), now)
    t.strictSame(keysOf(events), [['3:18:0', '3:18:1']])
  })
  t.test('records a record of another partition (the partition count changed)', async (t) => {
    const events = telemetryDecider.decide(record(5, 2, readings), history.reduce(telemetryDecider.evolve, telemetryDecider.initialState), now)
    t.strictSame(keysOf(events), [['5:2:0', '5:2:1']])
  })
})

t.test('answers to commands', async (t) => {
  const answer = (seq: string, ok: boolean, message: string | null) => ({ ...device, kind: 'response' as const, seq, ok, message })
  t.test('ok,seq acknowledges our command seq', async (t) => {
    t.strictSame(commandOutcomeOf(answer('12', true, null)), { type: 'RecordCommandOutcome', data: { thingId, seq: 12, outcome: 'acknowledged', reason: null } })
  })
  t.test('error,seq=message fails it with the message', async (t) => {
    t.strictSame(commandOutcomeOf(answer('3', false, 'Bad param')), { type: 'RecordCommandOutcome', data: { thingId, seq: 3, outcome: 'failed', reason: 'Bad param' } })
  })
  t.test('a seq that is no number of ours is no command', async (t) => {
    for (const seq of ['senderror', '0', '01', '-1', '2otoExGxnMJz0Jn', '1.5', '']) t.equal(commandOutcomeOf(answer(seq, true, null)), null, seq)
  })
})
