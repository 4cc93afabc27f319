/** Cayenne LPP (protocol doc section 2): the worked examples, every type, and broken frames. */
import t from 'tap'
import { interpretPublish, type Interpretation } from '../../../domain/cayenne/interpret.ts'
import { decodeLpp, encodeLpp, lppTypeTable, type LppRecord } from '../../../domain/cayenne/lpp.ts'
import { parseTopic } from '../../../domain/cayenne/topics.ts'

const hex = (text: string): Uint8Array => Uint8Array.from(text.split(/\s+/).filter(Boolean).map((b) => parseInt(b, 16)))
const topic = parseTopic('v1/u/things/t/data/9')
if (topic === null) throw new Error('unreachable')
const lpp = (frame: Uint8Array): Interpretation => interpretPublish(topic, frame, 'lpp')
const readings = (...list: [string, string, string | null, number | number[]][]): Interpretation => ({
  kind: 'readings',
  readings: list.map(([channel, type, unit, value]) => ({ channel, type, unit, value })),
})

t.test('the worked examples of 2.3', async (t) => {
  t.strictSame(lpp(hex('03 67 01 10 05 67 00 FF')), readings(['3', 'temp', 'c', 27.2], ['5', 'temp', 'c', 25.5]), 'two temperature sensors')
  t.strictSame(lpp(hex('01 67 FF D7')), readings(['1', 'temp', 'c', -4.1]), 'a negative temperature')
  t.strictSame(lpp(hex('06 71 04 D2 FB 2E 00 00')), readings(['6', 'accel', 'g', [1.234, -1.234, 0]]), 'an accelerometer')
  t.strictSame(lpp(hex('01 88 06 76 5F F2 96 0A 00 03 E8')), readings(['1', 'gps', 'm', [42.3519, -87.9094, 10]]), 'GPS, negative 24-bit longitude')
  t.strictSame(
    lpp(hex('01 67 00 E1 02 68 50 03 00 01 04 02 FF 6A 05 74 01 4A 06 85 65 53 F1 00 07 87 FF 80 00 08 73 27 94')),
    readings(
      ['1', 'temp', 'c', 22.5],
      ['2', 'rel_hum', 'p', 40],
      ['3', 'digital_sensor', 'd', 1],
      ['4', 'analog_sensor', null, -1.5],
      ['5', 'voltage', 'v', 3.3],
      ['6', 'unix_time', 'sec', 1700000000],
      ['7', 'color', null, [255, 128, 0]],
      ['8', 'bp', 'hpa', 1013.2],
    ),
    'the composite example',
  )
})

t.test('every type, at the edges of its range', async (t) => {
  const cases: [string, [string, string | null, number | number[]]][] = [
    ['00 00 FF', ['digital_sensor', 'd', 255]],
    ['00 01 01', ['digital_actuator', 'd', 1]],
    ['00 02 80 00', ['analog_sensor', null, -327.68]],
    ['00 03 7F FF', ['analog_actuator', null, 327.67]],
    ['00 64 FF FF FF FF', ['generic', null, 4294967295]],
    ['00 65 FF FF', ['lum', 'lux', 65535]],
    ['00 66 01', ['motion', 'd', 1]],
    ['00 67 FF FF', ['temp', 'c', -0.1]],
    ['00 68 FF', ['rel_hum', 'p', 127.5]],
    ['00 71 80 00 7F FF FF FF', ['accel', 'g', [-32.768, 32.767, -0.001]]],
    ['00 73 FF FF', ['bp', 'hpa', 6553.5]],
    ['00 74 FF FF', ['voltage', 'v', 655.35]],
    ['00 75 FF FF', ['current', 'a', 65.535]],
    ['00 76 FF FF FF FF', ['freq', 'hz', 4294967295]],
    ['00 78 64', ['percentage', 'p', 100]],
    ['00 79 FF FF', ['alt', 'm', -1]],
    ['00 7A 80 00 00', ['weight', 'kg', -8388.608]],
    ['00 7A 7F FF FF', ['weight', 'kg', 8388.607]],
    ['00 7D FF FF', ['concentration', 'ppm', 65535]],
    ['00 80 FF FF', ['pow', 'w', 65535]],
    ['00 82 FF FF FF FF', ['prox', 'm', 4294967.295]],
    ['00 83 00 00 30 39', ['energy', 'kwh', 12.345]],
    ['00 84 01 68', ['ori_azim', 'deg', 360]],
    ['00 85 FF FF FF FF', ['unix_time', 'sec', 4294967295]],
    ['00 86 FF 9C 00 64 80 00', ['gyro', 'dps', [-1, 1, -327.68]]],
    ['00 87 01 02 03', ['color', null, [1, 2, 3]]],
    ['00 88 80 00 00 7F FF FF FF FF FF', ['gps', 'm', [-838.8608, 838.8607, -0.01]]],
    ['00 8E 01', ['switch', 'd', 1]],
  ]
  for (const [frame, [type, unit, value]] of cases) t.strictSame(lpp(hex(frame)), readings(['0', type, unit, value]), frame)
  t.equal(new Set(cases.map(([frame]) => frame.slice(3, 5))).size, lppTypeTable.length, 'every type of the table is covered')
  t.strictSame(lpp(hex('FF 67 00 00')), readings(['255', 'temp', 'c', 0]), 'channel 255')
})

t.test('broken frames are rejected with the byte offset', async (t) => {
  const cases: [string, string][] = [
    ['01', 'LPP: a lone byte at offset 0 after the last record (a record needs a channel and a type byte)'],
    ['01 67 00 E1 02', 'LPP: a lone byte at offset 4 after the last record (a record needs a channel and a type byte)'],
    ['01 67', 'LPP: truncated temperature record at byte 0: needs 2 data bytes, 0 left'],
    ['01 67 00 E1 02 88 06 76 5F F2', 'LPP: truncated gps record at byte 4: needs 9 data bytes, 4 left'],
    ['01 42 00 00', 'LPP: unknown type 0x42 at byte 1'],
    ['01 67 00 E1 02 04 00', 'LPP: unknown type 0x04 at byte 5'],
    ['01 F0 08 01 00 00 00 00 00 00', 'LPP: type 0xF0 (polyline) at byte 1 is not supported'],
  ]
  for (const [frame, reason] of cases) t.strictSame(lpp(hex(frame)), { kind: 'rejected', reason }, frame)
  t.strictSame(decodeLpp(new Uint8Array(0)), { kind: 'rejected', reason: 'empty LPP frame' })
  const records: LppRecord[] = Array.from({ length: 1000 }, (_, i) => ({ channel: i % 256, type: 'digital_in', value: 1 }))
  const read = lpp(encodeLpp(records))
  t.equal(read.kind === 'readings' ? read.readings.length : read.kind, 1000, '1000 records')
  t.strictSame(lpp(encodeLpp([...records, records[0] as LppRecord])), { kind: 'rejected', reason: 'LPP: more than 1000 records (the next one at byte 3000)' })
})

t.test('encoding', async (t) => {
  t.strictSame(
    encodeLpp([
      { channel: 1, type: 'temperature', value: 22.5 },
      { channel: 2, type: 'humidity', value: 40 },
      { channel: 3, type: 'digital_in', value: 1 },
      { channel: 4, type: 'analog_in', value: -1.5 },
      { channel: 5, type: 'voltage', value: 3.3 },
      { channel: 6, type: 'unix_time', value: 1700000000 },
      { channel: 7, type: 'colour', value: [255, 128, 0] },
      { channel: 8, type: 'barometer', value: 1013.2 },
    ]),
    hex('01 67 00 E1 02 68 50 03 00 01 04 02 FF 6A 05 74 01 4A 06 85 65 53 F1 00 07 87 FF 80 00 08 73 27 94'),
    'the composite example',
  )
  t.strictSame(encodeLpp([{ channel: 1, type: 'gps', value: [42.3519, -87.9094, 10] }]), hex('01 88 06 76 5F F2 96 0A 00 03 E8'))
  t.strictSame(encodeLpp([]), new Uint8Array(0))
  t.throws(() => encodeLpp([{ channel: 256, type: 'temperature', value: 1 }]), RangeError)
  t.throws(() => encodeLpp([{ channel: 1.5, type: 'temperature', value: 1 }]), RangeError)
  t.throws(() => encodeLpp([{ channel: 1, type: 'temperature', value: 3276.8 }]), RangeError)
  t.throws(() => encodeLpp([{ channel: 1, type: 'voltage', value: -0.01 }]), RangeError)
  t.throws(() => encodeLpp([{ channel: 1, type: 'temperature', value: NaN }]), RangeError)
  t.throws(() => encodeLpp([{ channel: 1, type: 'gps', value: [1, 2] }]), RangeError)
  t.throws(() => encodeLpp([{ channel: 1, type: 'polyline' as 'gps', value: 1 }]), RangeError)
})
