/** A telemetry message as a record of the stream, and back: the thing id and the time travel as the key and the timestamp. */
import t from 'tap'
import { messageOfRecord, telemetryRecordOf, type TelemetryMessage } from '../../domain/telemetry/telemetry-message.ts'

const thingId = '0b6c3f5e-2a9d-4a53-9d7e-4c1f8e2a7b10'
const receivedAt = '2026-12-07T19:14:03.123Z'
const messages: TelemetryMessage[] = [
  {
    thingId,
    accountId: 'acc-1',
    receivedAt,
    kind: 'readings',
    source: 'mqtt',
    topic: `v1/user/things/${thingId}/data/1`,
    readings: [{ channel: '1', type: 'temp', unit: 'c', value: 20.5 }],
    payload: 'dGVtcCxjPTIwLjU=',
  },
  { thingId, accountId: 'acc-1', receivedAt, kind: 'readings', source: 'http', topic: null, readings: [{ channel: 'gps', type: 'gps', unit: 'm', value: [1, 2, 3] }] },
  { thingId, accountId: 'acc-1', receivedAt, kind: 'response', seq: '7', ok: false, message: 'jammed' },
  { thingId, accountId: 'acc-1', receivedAt, kind: 'sys', key: 'model', value: 'Pi' },
  { thingId, accountId: 'acc-1', receivedAt, kind: 'disconnected', username: 'user' },
  { thingId, accountId: 'acc-1', receivedAt, kind: 'rejected', source: 'mqtt', topic: 'v1/user/things/x/data/1', payload: 'AAE=', reason: 'not LPP' },
]

t.test('a message becomes a record without its thing id and time, and comes back whole', async (t) => {
  for (const message of messages) {
    const record = telemetryRecordOf(message, Date.parse(receivedAt))
    t.equal(record.key, thingId)
    t.equal(record.timestamp, Date.parse(receivedAt))
    t.equal(record.message, message, 'the message itself rides along for consumers in this process')
    const stored = JSON.parse(record.value) as Record<string, unknown>
    t.notOk('thingId' in stored || 'receivedAt' in stored, `${message.kind}: the text leaves them out`)
    t.strictSame(messageOfRecord(record), message, `${message.kind}: read back as it was`)
  }
})

t.test('a record written before 2026-12, with its thing id and time in its text, reads the same', async (t) => {
  for (const message of messages) {
    const former = { key: thingId, value: JSON.stringify(message), timestamp: Date.parse(receivedAt) }
    t.strictSame(messageOfRecord(former), message, message.kind)
  }
})

t.test('what is no message is undefined, never a half-read message', async (t) => {
  const at = Date.parse(receivedAt)
  for (const value of ['', 'not json', 'null', '42', '[]', '{}', '{"kind":"nonsense","accountId":"a"}', '{"kind":"sys","key":"model","value":"Pi"}']) {
    t.equal(messageOfRecord({ key: thingId, value, timestamp: at }), undefined, `value ${JSON.stringify(value)}`)
  }
  const sys = JSON.stringify({ accountId: 'a', kind: 'sys', key: 'model', value: 'Pi' })
  t.equal(messageOfRecord({ key: thingId, value: sys, timestamp: Number.NaN }), undefined, 'no time in the text, and no usable timestamp')
  t.equal(messageOfRecord({ key: thingId, value: JSON.stringify({ accountId: 'a', kind: 'sys', receivedAt: 'yesterday' }), timestamp: at }), undefined, 'a time that is no time')
  t.equal(messageOfRecord({ key: thingId, value: JSON.stringify({ accountId: 'a', kind: 'sys', thingId: 7 }), timestamp: at }), undefined, 'a thing id that is no text')
})
