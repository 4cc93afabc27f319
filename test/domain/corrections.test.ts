import t from 'tap'
import { decideCorrections, readingsOf, type CorrectReadings, type StoredTelemetryEvent } from '../../domain/telemetry/corrections.ts'

const at = '2026-03-01T10:00:00.000Z'
const recorded = (revision: number, key: string, value: number, channel = '3'): StoredTelemetryEvent => ({
  id: `event-${revision}`,
  revision,
  position: 100 + revision,
  type: 'SensorReadingRecorded',
  data: { key, thingId: 'thing-1', accountId: 'acct', channel, type: 'temp', unit: 'c', value, at, source: 'mqtt', ...(key.endsWith(':0') ? { raw: { topic: 't', payload: 'AA==' } } : {}) },
})
const history = [recorded(0, '2:7:0', 272), recorded(1, '2:7:1', 50, '5'), recorded(2, '2:8:0', 288)]
const command = (redecoded: CorrectReadings['data']['redecoded']): CorrectReadings => ({ type: 'CorrectReadings', data: { codec: 'lpp', redecoded, recordedThrough: '2:8:0' } })
const temp = (value: number, channel = '3') => ({ channel, type: 'temp', unit: 'c', value })

t.test('a reading whose payload now decodes to another value', async (t) => {
  t.test('is corrected, pointing at the recorded event, with the old and new values', async (t) => {
    const { events, skipped } = decideCorrections(command([{ record: '2:7', readings: [temp(27.2), temp(50, '5')] }]), readingsOf(history))
    t.strictSame(skipped, [])
    t.equal(events.length, 1, 'the unchanged humidity gets none')
    t.match(events[0], {
      type: 'SensorReadingCorrected',
      data: { corrects: { eventId: 'event-0', revision: 0, position: 100, key: '2:7:0' }, previous: { value: 272 }, value: 27.2, at, recordedThrough: '2:8:0' },
    })
  })
  t.test('is not corrected again once the correction is in the stream (idempotent)', async (t) => {
    const first = decideCorrections(command([{ record: '2:7', readings: [temp(27.2), temp(50, '5')] }]), readingsOf(history))
    const applied = [...history, ...first.events.map((e, i) => ({ id: `c-${i}`, revision: 3 + i, position: 200 + i, type: e.type, data: e.data }))]
    const again = decideCorrections(command([{ record: '2:7', readings: [temp(27.2), temp(50, '5')] }]), readingsOf(applied))
    t.strictSame(again.events, [])
    t.equal(readingsOf(applied).get('2:7:0')!.value, 27.2, 'the state holds the corrected value')
  })
})

t.test('a record that cannot be corrected reading by reading is skipped with the reason', async (t) => {
  const { events, skipped } = decideCorrections(
    command([{ record: '2:7', readings: [temp(27.2)] }, { record: '2:8', problem: 'no longer decodes: LPP: unknown type 0x67' }]),
    readingsOf(history),
  )
  t.strictSame(events, [])
  t.match(skipped, [{ record: '2:7', problem: /decodes to 1 reading\(s\), 2 were recorded/ }, { record: '2:8', problem: /no longer decodes/ }])
})

t.test('readings recorded many to an event are corrected one by one, each named by its index in the event', async (t) => {
  const batched: StoredTelemetryEvent = {
    id: 'event-batch',
    revision: 0,
    position: 300,
    type: 'SensorReadingsRecorded',
    data: {
      thingId: 'thing-1',
      accountId: 'acct',
      readings: [
        { key: '4:1:0', channel: '3', type: 'temp', unit: 'c', value: 272, at, source: 'mqtt', raw: { topic: 't', payload: 'AA==' } },
        { key: '4:1:1', channel: '5', type: 'temp', unit: 'c', value: 50, at, source: 'mqtt' },
        { key: '4:2:0', channel: '3', type: 'temp', unit: 'c', value: 288, at, source: 'mqtt', raw: { topic: 't', payload: 'AA==' } },
      ],
    },
  }
  const state = readingsOf([batched])
  t.strictSame([...state.keys()], ['4:1:0', '4:1:1', '4:2:0'], 'every reading of the event, in order')
  t.match(state.get('4:1:1'), { eventId: 'event-batch', revision: 0, position: 300, index: 1, thingId: 'thing-1', accountId: 'acct', channel: '5', value: 50 })
  t.notOk('raw' in state.get('4:1:1')!, 'the payload rides on a record\'s first reading only')

  const { events } = decideCorrections(command([{ record: '4:1', readings: [temp(27.2), temp(5, '5')] }, { record: '4:2', readings: [temp(28.8)] }]), state)
  t.strictSame(
    events.map((e) => [e.data.corrects, e.data.value]),
    [
      [{ eventId: 'event-batch', revision: 0, position: 300, key: '4:1:0', index: 0 }, 27.2],
      [{ eventId: 'event-batch', revision: 0, position: 300, key: '4:1:1', index: 1 }, 5],
      [{ eventId: 'event-batch', revision: 0, position: 300, key: '4:2:0', index: 2 }, 28.8],
    ],
  )
  const alone = decideCorrections(command([{ record: '2:7', readings: [temp(27.2), temp(50, '5')] }]), readingsOf(history)).events[0]!
  t.notOk('index' in alone.data.corrects, 'a reading recorded alone is named without an index')
})
