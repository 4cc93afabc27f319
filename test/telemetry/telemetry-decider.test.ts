/** The telemetry decider: records become facts once, whatever is delivered again. */
import t from 'tap'
import {
  commandOutcomeOf,
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

const record = (partition: number, offset: number, fact: TelemetryFact): RecordTelemetry => ({ type: 'RecordTelemetry', data: { partition, offset, fact } })
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
  type: 'SensorReadingRecorded',
  data: { key: `${partition}:${offset}:${index}`, thingId, accountId: 'acc-1', channel, type: 'temp', unit: 'c', value: 20, at, source: 'mqtt' },
})

t.test('a thing with no telemetry yet', async (t) => {
  t.test('records each reading of a record, keyed by partition, offset and index', async (t) => {
    spec([]).when(record(3, 17, readings)).then(t, [
      {
        type: 'SensorReadingRecorded',
        data: { key: '3:17:0', thingId, accountId: 'acc-1', channel: '1', type: 'temp', unit: 'c', value: 21.5, at, source: 'mqtt' },
      },
      {
        type: 'SensorReadingRecorded',
        data: { key: '3:17:1', thingId, accountId: 'acc-1', channel: '2', type: 'accel', unit: 'g', value: [1.5, -2, 0.25], at, source: 'mqtt' },
      },
    ])
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
    t.strictSame(events.map((e) => (e.type === 'SensorReadingRecorded' ? e.data.key : e.type)), ['3:18:0', '3:18:1'])
  })
  t.test('records a record of another partition (the partition count changed)', async (t) => {
    const events = telemetryDecider.decide(record(5, 2, readings), history.reduce(telemetryDecider.evolve, telemetryDecider.initialState), now)
    t.equal(events.length, 2)
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
