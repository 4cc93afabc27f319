/**
 * What a publish means, for every payload form of the protocol doc (1.3, 1.4, 1.5, 1.7):
 * given a topic and a payload, the expected interpretation.
 */
import t from 'tap'
import { formatCommandPayload, interpretJsonReadings, interpretPublish, type Interpretation } from '../../../domain/cayenne/interpret.ts'
import { parseTopic } from '../../../domain/cayenne/topics.ts'

const root = 'v1/u/things/t'
function publish(rest: string, payload: string | Uint8Array, codec: string | null = null): Interpretation {
  const topic = parseTopic(`${root}/${rest}`)
  if (topic === null) throw new Error(`not a Cayenne topic: ${rest}`)
  return interpretPublish(topic, typeof payload === 'string' ? new TextEncoder().encode(payload) : payload, codec)
}
const one = (channel: string, type: string | null, unit: string | null, value: number | number[] | string): Interpretation => ({
  kind: 'readings',
  readings: [{ channel, type, unit, value }],
})
const rejected = (reason: string): Interpretation => ({ kind: 'rejected', reason })

t.test('the official test clients\' data payloads (1.7)', async (t) => {
  const cases: [string, string, Interpretation][] = [
    ['data/0', '0', one('0', null, null, 0)],
    ['data/1', 'temp,c=1', one('1', 'temp', 'c', 1)],
    ['data/2', 'temp,f=2', one('2', 'temp', 'f', 2)],
    ['data/3', 'temp,k=3', one('3', 'temp', 'k', 3)],
    ['data/4', 'lum,lux=4', one('4', 'lum', 'lux', 4)],
    ['data/5', 'bp,pa=5', one('5', 'bp', 'pa', 5)],
    ['data/6', 'bp,hpa=6', one('6', 'bp', 'hpa', 6)],
  ]
  for (const [rest, payload, expected] of cases) t.strictSame(publish(rest, payload), expected, payload)
})

t.test('data payload forms (1.4)', async (t) => {
  const cases: [string, Interpretation][] = [
    ['42', one('2', null, null, 42)],
    ['0.8', one('2', null, null, 0.8)],
    ['-1', one('2', null, null, -1)],
    ['+1', one('2', null, null, 1)],
    ['1e3', one('2', null, null, 1000)],
    ['2.5E-2', one('2', null, null, 0.025)],
    ['.5', one('2', null, null, 0.5)],
    ['5.', one('2', null, null, 5)],
    ['-0.000', one('2', null, null, 0)],
    ['6.600', one('2', null, null, 6.6)],
    ['temp,c=20.7', one('2', 'temp', 'c', 20.7)],
    ['rel_hum,p=7.700', one('2', 'rel_hum', 'p', 7.7)],
    ['temp,null=42', one('2', 'temp', null, 42)],
    ['temp=42', one('2', 'temp', null, 42)],
    ['temp,=42', one('2', 'temp', null, 42)],
    ['accel,g,g,g=1.5,-2,0.25', one('2', 'accel', 'g', [1.5, -2, 0.25])],
    ['accel,g,g,g=1.500,-2.000,0.250', one('2', 'accel', 'g', [1.5, -2, 0.25])],
    ['x,a,b,c,d=1,2,3,4', one('2', 'x', 'a,b,c,d', [1, 2, 3, 4])],
    ['x,a,null=1,2', one('2', 'x', 'a,null', [1, 2])],
    ['x,null,null=1,2', one('2', 'x', null, [1, 2])],
    ['gps,m=[27.986065,86.922623,8848]', one('2', 'gps', 'm', [27.986065, 86.922623, 8848])],
    ['accel,g=[7.01,7.02,-7.03]', one('2', 'accel', 'g', [7.01, 7.02, -7.03])],
    ['accel,g,g,g=[1,2,3]', one('2', 'accel', 'g', [1, 2, 3])],
    ['accel=[1,2,3]', one('2', 'accel', null, [1, 2, 3])],
    ['x,u=[5]', one('2', 'x', 'u', 5)],
    [' temp , c = 21.5 \r\n', one('2', 'temp', 'c', 21.5)],
    ['\tgps , m = [ 1 , -2.5 , 3 ] ', one('2', 'gps', 'm', [1, -2.5, 3])],
    ['\uFEFF7', one('2', null, null, 7)],
    ['lt_color,null=#ff0000', one('2', 'lt_color', null, '#ff0000')],
    ['hvac_state,null=cooling mode', one('2', 'hvac_state', null, 'cooling mode')],
    ['note,null=a=b', one('2', 'note', null, 'a=b')],
    ['x,u=0x10', one('2', 'x', 'u', '0x10')],
  ]
  for (const [payload, expected] of cases) t.strictSame(publish('data/2', payload), expected, JSON.stringify(payload))
})

t.test('data payloads that are refused, with the reason', async (t) => {
  const cases: [string, string][] = [
    ['abc', 'bare value "abc" is not a number (a text value needs a type: type,unit=text)'],
    ['on', 'bare value "on" is not a number (a text value needs a type: type,unit=text)'],
    ['0x10', 'bare value "0x10" is not a number (a text value needs a type: type,unit=text)'],
    ['1_000', 'bare value "1_000" is not a number (a text value needs a type: type,unit=text)'],
    ['   ', 'empty value'],
    ['1,2', `bare value "1,2" has a ','; several values need a type and units (type,u1,u2=v1,v2)`],
    ['nan', 'value "nan" is not a finite number'],
    ['-nan', 'value "-nan" is not a finite number'],
    ['inf', 'value "inf" is not a finite number'],
    ['Infinity', 'value "Infinity" is not a finite number'],
    ['1e999', 'value "1e999" is not a finite number'],
    ['temp,c=nan', 'value "nan" is not a finite number'],
    ['temp,c=-1e400', 'value "-1e400" is not a finite number'],
    ['=5', `missing type before '=' (the form is type,unit=value)`],
    [' ,c=5', `missing type before '=' (the form is type,unit=value)`],
    ['temp,c=', `missing value after '='`],
    ['temp,c=  ', `missing value after '='`],
    ['x,a,b=1', '1 value(s) but 2 unit(s): give one unit per value (type,u1,u2=v1,v2)'],
    ['x,a=1,2', '2 value(s) but 1 unit(s): give one unit per value (type,u1,u2=v1,v2)'],
    ['x=1,2', '2 value(s) but 0 unit(s): give one unit per value (type,u1,u2=v1,v2)'],
    ['x,a,b=[1,2,3]', '3 value(s) but 2 unit(s): give one unit per value (type,u1,u2=v1,v2), or one unit for the whole list'],
    ['x,a,b,c,d,e=1,2,3,4,5', 'more than 4 units'],
    ['x=1,2,3,4,5', 'more than 4 values'],
    ['x=[1,2,3,4,5]', 'more than 4 values'],
    [`x,u=1${',1'.repeat(30000)}`, 'more than 4 values'],
    ['accel,g,g,g=1.5,x,0.25', 'value 2 "x" is not a number (several values must all be numbers)'],
    ['accel,g,g,g=1.5,,0.25', 'value 2 is empty (several values must all be numbers)'],
    ['gps,m=[1,2', `a list value must end with ']'`],
    ['gps,m=[ ]', 'the list is empty'],
    ['gps,m=[1,,2]', 'list item 2 is empty'],
    ['gps,m=[1,nan]', 'list item 2 "nan" is not a finite number'],
    ['gps,m=[[1],2]', 'list item 1 "[1]" is not a number'],
    [`${'t'.repeat(65)}=1`, `type "${'t'.repeat(40)}..." is longer than 64 characters`],
    [`t,${'u'.repeat(65)}=1`, `unit "${'u'.repeat(40)}..." is longer than 64 characters`],
    [`t,null=${'x'.repeat(1025)}`, 'text value is longer than 1024 characters'],
  ]
  for (const [payload, reason] of cases) t.strictSame(publish('data/2', payload), rejected(reason), payload.slice(0, 40))
})

t.test('digital and analog pins (DIGITAL_AND_ANALOG_SUPPORT)', async (t) => {
  t.strictSame(publish('digital/3', '1'), one('3', 'digital_sensor', 'd', 1))
  t.strictSame(publish('digital/3', ' 0\n'), one('3', 'digital_sensor', 'd', 0))
  t.strictSame(publish('digital/3', '1.000'), one('3', 'digital_sensor', 'd', 1))
  t.strictSame(publish('digital/3', 'digital_actuator,d=1'), one('3', 'digital_actuator', 'd', 1))
  t.strictSame(publish('digital/3', '2'), rejected('a digital value is 0 or 1, not "2"'))
  t.strictSame(publish('digital/3', 'on'), rejected('a digital value is 0 or 1, not "on"'))
  t.strictSame(publish('digital/3', 'switch,null=on'), rejected('a digital value is 0 or 1, not "on"'))
  t.strictSame(publish('digital/3', 'x,a,b=0,1'), rejected('a digital value is 0 or 1, not "0,1"'))
  t.strictSame(publish('digital/3', 'x,a=0,1'), rejected('2 value(s) but 1 unit(s): give one unit per value (type,u1,u2=v1,v2)'))

  t.strictSame(publish('analog/4', '0.5'), one('4', 'analog_sensor', null, 0.5))
  t.strictSame(publish('analog/4', '512,1023'), one('4', 'analog_sensor', '1023', 512))
  t.strictSame(publish('analog/4', ' 512 , 1023 '), one('4', 'analog_sensor', '1023', 512))
  t.strictSame(publish('analog/4', 'analog_actuator,null=0.25'), one('4', 'analog_actuator', null, 0.25))
  t.strictSame(publish('analog/4', 'x'), rejected('analog value "x" is not a number'))
  t.strictSame(publish('analog/4', 'nan'), rejected('analog value "nan" is not a finite number'))
  t.strictSame(publish('analog/4', ',5'), rejected('analog value is empty'))
  t.strictSame(publish('analog/4', '1,x'), rejected('analog resolution "x" is not a number (the form is value or value,resolution)'))
  t.strictSame(publish('analog/4', '1,2,3'), rejected('analog resolution "2,3" is not a number (the form is value or value,resolution)'))
  t.strictSame(publish('analog/4', 'color,null=#fff'), rejected('an analog value must be a number, not "#fff"'))
})

t.test('command responses (1.5)', async (t) => {
  const response = (seq: string, ok: boolean, message: string | null): Interpretation => ({ kind: 'response', seq, ok, message })
  t.strictSame(publish('response', 'ok,2otoExGxnMJz0Jn'), response('2otoExGxnMJz0Jn', true, null))
  t.strictSame(publish('response', 'error,2otoExGxn=ERROR MESSAGE'), response('2otoExGxn', false, 'ERROR MESSAGE'))
  t.strictSame(publish('response', 'error,7=Bad param'), response('7', false, 'Bad param'))
  t.strictSame(publish('response', 'error,seq99=a=b, c,d'), response('seq99', false, 'a=b, c,d'))
  t.strictSame(publish('response', 'error,seq99'), response('seq99', false, null))
  t.strictSame(publish('response', 'error,seq99=  '), response('seq99', false, null))
  t.strictSame(publish('response', ' ok , senderror \n'), response('senderror', true, null))
  const form = 'a response is ok,{seq} or error,{seq}={message}'
  t.strictSame(publish('response', 'ok'), rejected(`${form}; got "ok"`))
  t.strictSame(publish('response', 'ok,'), rejected(`${form}; the seq is missing`))
  t.strictSame(publish('response', 'error,=boom'), rejected(`${form}; the seq is missing`))
  t.strictSame(publish('response', 'OK,1'), rejected(`${form}; "OK" is neither ok nor error`))
  t.strictSame(publish('response', 'done,1'), rejected(`${form}; "done" is neither ok nor error`))
  t.strictSame(publish('response', `ok,${'s'.repeat(257)}`), rejected('the seq is longer than 256 characters'))
})

t.test('sys facts (1.3, 1.7)', async (t) => {
  const sys = (key: string, value: string): Interpretation => ({ kind: 'sys', key, value })
  t.strictSame(publish('sys/model', 'Python'), sys('model', 'Python'))
  t.strictSame(publish('sys/version', '1.1.0'), sys('version', '1.1.0'))
  t.strictSame(publish('sys/cpu/model', ' ATmega328P \r\n'), sys('cpu/model', 'ATmega328P'))
  t.strictSame(publish('sys/cpu/speed', '1000000000'), sys('cpu/speed', '1000000000'))
  t.strictSame(publish('sys/conn', 'ESP8266Wifi, ℃ ok'), sys('conn', 'ESP8266Wifi, ℃ ok'))
  t.strictSame(publish('sys/model', 'x'.repeat(1024)), sys('model', 'x'.repeat(1024)))
  t.strictSame(publish('sys/model', 'x'.repeat(1025)), rejected('sys/model: 1025 bytes is over the 1024-byte limit'))
  t.strictSame(publish('sys/model', ' \n'), rejected('sys/model: empty value'))
  t.strictSame(publish('sys/model', Uint8Array.of(0x4c, 0xc3)), rejected('payload is not valid UTF-8 text'))
})

t.test('data/json and the HTTP ingest body (1.4)', async (t) => {
  t.strictSame(publish('data/json', '[{"channel":1,"value":16.4,"type":"temp","unit":"c"},{"channel":"sys:cpu;load","value":12.5,"type":"cpuload","unit":"p","name":"CPU"}]'), {
    kind: 'readings',
    readings: [
      { channel: '1', type: 'temp', unit: 'c', value: 16.4 },
      { channel: 'sys:cpu;load', type: 'cpuload', unit: 'p', value: 12.5 },
    ],
  })
  const cases: [unknown, Interpretation][] = [
    [{ channel: 0, value: true }, one('0', null, null, 1)],
    [{ channel: 0, value: false }, one('0', null, null, 0)],
    [{ channel: 3, value: '21.50' }, one('3', null, null, 21.5)],
    [{ channel: 'sys:net;ip', value: '192.168.1.2' }, one('sys:net;ip', null, null, '192.168.1.2')],
    [{ channel: ' dev:7 ', value: [1, 2, 3], type: 'accel', unit: 'g' }, one('dev:7', 'accel', 'g', [1, 2, 3])],
    [{ channel: 1, value: [5] }, one('1', null, null, 5)],
    [{ channel: 1, value: -0, type: '', unit: 'null' }, one('1', null, null, 0)],
    [{ channel: 1, value: 1, type: null, unit: null, extra: { deep: true } }, one('1', null, null, 1)],
  ]
  for (const [item, expected] of cases) {
    t.strictSame(interpretJsonReadings(JSON.stringify([item])), expected, JSON.stringify(item))
    t.strictSame(interpretJsonReadings(JSON.stringify(item)), expected, `${JSON.stringify(item)} alone`)
  }
  t.strictSame(interpretJsonReadings(` \n\uFEFF[{"channel":1,"value":1}]\n`), one('1', null, null, 1), 'whitespace and a BOM')
  const many = Array.from({ length: 1000 }, (_, i) => ({ channel: i, value: i }))
  const read = interpretJsonReadings(JSON.stringify(many))
  t.equal(read.kind === 'readings' ? read.readings.length : read.kind, 1000, '1000 items')
})

t.test('JSON bodies that are refused, naming the item and field', async (t) => {
  const cases: [string, string][] = [
    ['', 'not JSON: Unexpected end of JSON input'],
    ['5', 'must be a JSON array of {channel, value, type, unit} objects'],
    ['"x"', 'must be a JSON array of {channel, value, type, unit} objects'],
    ['null', 'must be a JSON array of {channel, value, type, unit} objects'],
    ['[]', 'the array is empty: send at least one {channel, value}'],
    ['[5]', '[0]: must be an object {channel, value, type, unit}'],
    ['[{"channel":1,"value":1},[1]]', '[1]: must be an object {channel, value, type, unit}'],
    ['[{"value":1}]', '[0].channel: missing'],
    ['{"value":1}', 'channel: missing'],
    ['[{"channel":null,"value":1}]', '[0].channel: missing'],
    ['[{"channel":-1,"value":1}]', '[0].channel: must be a non-negative integer or a text, not -1'],
    ['[{"channel":1.5,"value":1}]', '[0].channel: must be a non-negative integer or a text, not 1.5'],
    ['[{"channel":1e300,"value":1}]', '[0].channel: must be a non-negative integer or a text, not 1e+300'],
    ['[{"channel":true,"value":1}]', '[0].channel: must be a non-negative integer or a text'],
    ['[{"channel":"  ","value":1}]', '[0].channel: must not be empty'],
    [`[{"channel":"${'c'.repeat(129)}","value":1}]`, '[0].channel: must be at most 128 characters'],
    ['[{"channel":1,"value":1},{"channel":2}]', '[1].value: missing'],
    ['[{"channel":1,"value":null}]', '[0].value: missing'],
    ['[{"channel":1,"value":1e999}]', '[0].value: must be a finite number'],
    ['[{"channel":1,"value":"1e999"}]', '[0].value: "1e999" is not a finite number'],
    ['[{"channel":1,"value":"NaN"}]', '[0].value: "NaN" is not a finite number'],
    ['[{"channel":1,"value":" "}]', '[0].value: must not be empty'],
    [`[{"channel":1,"value":"${'v'.repeat(1025)}"}]`, '[0].value: text is longer than 1024 characters'],
    ['[{"channel":1,"value":{"x":1}}]', '[0].value: must be a number, a boolean, a text or a list of numbers'],
    ['[{"channel":1,"value":[]}]', '[0].value: a list must have 1 to 4 numbers, not 0'],
    ['[{"channel":1,"value":[1,2,3,4,5]}]', '[0].value: a list must have 1 to 4 numbers, not 5'],
    ['[{"channel":1,"value":[1,"2"]}]', '[0].value: item 1 must be a finite number'],
    ['[{"channel":1,"value":1,"type":5}]', '[0].type: must be a text'],
    ['[{"channel":1,"value":1,"unit":["c"]}]', '[0].unit: must be a text'],
    [`[{"channel":1,"value":1,"unit":"${'u'.repeat(65)}"}]`, '[0].unit: must be at most 64 characters'],
  ]
  for (const [body, reason] of cases) t.strictSame(interpretJsonReadings(body), rejected(reason), body.slice(0, 60))
  const tooMany = JSON.stringify(Array.from({ length: 1001 }, (_, i) => ({ channel: i, value: i })))
  t.strictSame(interpretJsonReadings(tooMany), rejected('1001 items: at most 1000 per message'))
  const notJson = interpretJsonReadings('[{"channel":1,')
  t.equal(notJson.kind, 'rejected')
  t.match((notJson as { reason: string }).reason, /^not JSON: /)
  t.ok((interpretJsonReadings(`"${'x'.repeat(60000)}`) as { reason: string }).reason.length <= 140, 'a parse error does not echo the body')
})

t.test('limits and what is not telemetry', async (t) => {
  t.strictSame(publish('data/2', ''), { kind: 'ignored' }, 'an empty payload clears a retained message')
  t.strictSame(publish('response', ''), { kind: 'ignored' })
  t.strictSame(publish('data/1', new Uint8Array(0), 'lpp'), { kind: 'ignored' })
  t.strictSame(publish('cmd/3', '2otoExGxnMJz0Jn,0'), { kind: 'ignored' }, 'device-bound')
  t.strictSame(publish('jobs.json', '{not json'), { kind: 'ignored' }, 'other')
  t.strictSame(publish('cmd/3', new Uint8Array(70000)), { kind: 'ignored' }, 'routed whatever its size')
  const big = ` ${'0'.repeat(64 * 1024 - 2)}1`
  t.strictSame(publish('data/2', big), one('2', null, null, 1), 'exactly 64 KiB')
  t.strictSame(publish('data/2', `${big} `), rejected('payload of 65537 bytes is over the 65536-byte limit'))
  t.strictSame(publish('data/2', Uint8Array.of(0x34, 0xff)), rejected('payload is not valid UTF-8 text'))
  t.strictSame(publish('data/json', Uint8Array.of(0x5b, 0xed, 0xa0, 0x80, 0x5d)), rejected('payload is not valid UTF-8 text'), 'a lone surrogate')
  const view = new TextEncoder().encode('xx temp,c=3 xx').subarray(3, 11)
  t.strictSame(publish('data/2', view), one('2', 'temp', 'c', 3), 'a view into a larger buffer')
  t.strictSame(publish('data/2', 'temp,c=3', 'some.codec.name'), one('2', 'temp', 'c', 3), 'other codecs read text')
  t.strictSame(publish('data/json', '[{"channel":1,"value":2}]', 'lpp'), one('1', null, null, 2), 'data/json stays JSON for LPP things')
})

t.test('command payloads for cmd/{channel} (1.5)', async (t) => {
  t.equal(formatCommandPayload('2otoExGxnMJz0Jn', 0), '2otoExGxnMJz0Jn,0')
  t.equal(formatCommandPayload(7, 0.5), '7,0.5')
  t.equal(formatCommandPayload('s', true), 's,1')
  t.equal(formatCommandPayload('s', false), 's,0')
  t.equal(formatCommandPayload('s', 'respond with error'), 's,respond with error')
  t.equal(formatCommandPayload('s', 'a,b'), 's,a,b', 'devices split on the first comma')
  t.throws(() => formatCommandPayload('a,b', 1), RangeError)
  t.throws(() => formatCommandPayload('', 1), RangeError)
  t.throws(() => formatCommandPayload('s', NaN), RangeError)
  t.strictSame(publish('cmd/3', formatCommandPayload('s', 1)), { kind: 'ignored' })
})
