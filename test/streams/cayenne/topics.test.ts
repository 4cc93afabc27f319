/** Cayenne MQTT topics (protocol doc 1.3): what each topic under a thing means. */
import t from 'tap'
import { parseTopic } from '../../../domain/cayenne/topics.ts'

const root = 'v1/A1234B5678C/things/0123-4567-89AB-CDEF'
const who = { username: 'A1234B5678C', thingId: '0123-4567-89AB-CDEF' }

t.test('telemetry topics', async (t) => {
  const cases: [string, object][] = [
    ['data/2', { kind: 'data', channel: '2' }],
    ['data/0', { kind: 'data', channel: '0' }],
    ['data/31', { kind: 'data', channel: '31' }],
    ['data/4294967295', { kind: 'data', channel: '4294967295' }],
    ['digital/3', { kind: 'digital', channel: '3' }],
    ['analog/7', { kind: 'analog', channel: '7' }],
    ['data/json', { kind: 'data/json' }],
    ['response', { kind: 'response' }],
    ['sys/model', { kind: 'sys', key: 'model' }],
    ['sys/version', { kind: 'sys', key: 'version' }],
    ['sys/cpu/model', { kind: 'sys', key: 'cpu/model' }],
    ['sys/cpu/speed', { kind: 'sys', key: 'cpu/speed' }],
    ['sys/conn', { kind: 'sys', key: 'conn' }],
  ]
  for (const [rest, expected] of cases) t.strictSame(parseTopic(`${root}/${rest}`), { ...who, ...expected }, rest)
})

t.test('device-bound topics are routed, not recorded', async (t) => {
  for (const rest of ['cmd/3', 'digital-cmd/0', 'analog-cmd/12', 'conf/1', 'digital-conf/2', 'analog-conf/4', 'cmd.json']) {
    t.strictSame(parseTopic(`${root}/${rest}`), { ...who, kind: 'device-bound', rest }, rest)
  }
})

t.test('anything else under a thing is other', async (t) => {
  const rests = ['jobs.json', 'sys', 'data', 'data/01', 'data/00', 'data/-1', 'data/1.5', 'data/ 1', 'data/x', 'data/4294967296', 'data/99999999999',
    'data/1/extra', 'data/json/x', 'response/1', 'cmd/01', 'cmd/x', 'cmd.json/1', 'status', 'Data/1']
  for (const rest of rests) t.strictSame(parseTopic(`${root}/${rest}`), { ...who, kind: 'other', rest }, rest)
})

t.test('null outside the root, with empty levels or wildcards', async (t) => {
  const topics = ['', '/', 'v1', root, `${root}/`, `v2/u/things/t/data/1`, `v1/u/thing/t/data/1`, `V1/u/things/t/data/1`, `/v1/u/things/t/data/1`,
    'v1//things/t/data/1', 'v1/u/things//data/1', `${root}/data/`, `${root}//1`, `${root}/data/+`, `${root}/#`, `${root}/sys/#`, 'v1/+/things/t/data/1',
    'v1/u/things/+/data/1', `${root}/data/1+`, `${root}/data/+1`, `${root}/sys/cpu/`, '$SYS/broker/uptime']
  for (const topic of topics) t.equal(parseTopic(topic), null, JSON.stringify(topic))
})

t.test('usernames and thing ids are any non-empty level', async (t) => {
  t.strictSame(parseTopic('v1/da497640-dcce-11e6-b089-9f6bfa78ab33/things/alternateClientID/cmd/2'), {
    username: 'da497640-dcce-11e6-b089-9f6bfa78ab33', thingId: 'alternateClientID', kind: 'device-bound', rest: 'cmd/2',
  })
  t.strictSame(parseTopic('v1/ü s/things/bridge-host-42/data/1'), { username: 'ü s', thingId: 'bridge-host-42', kind: 'data', channel: '1' })
})
