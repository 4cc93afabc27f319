/** The ACL and command rules as plain functions, edge cases included. */
import t from 'tap'
import { topicMatches } from '../../adapters/mqtt/broker.ts'
import { commandSeqOf, mayUseFilter, mayUseTopic, revocationOf } from '../../streams/aedes-bridge.ts'
import type { RecordedEvent } from '../../domain/ports/event-store.ts'

const user = 'da497640-dcce-11e6-b089-9f6bfa78ab33'

t.test('mayUseTopic: concrete topics under v1/{username}/things/', async (t) => {
  t.ok(mayUseTopic(user, `v1/${user}/things/abc/data/1`))
  t.ok(mayUseTopic(user, `v1/${user}/things/other-thing/cmd/2`), 'another thing of the account (gateways, test clients)')
  t.notOk(mayUseTopic(user, `v1/${user}/things/`), 'nothing after the prefix')
  t.notOk(mayUseTopic(user, `v1/${user}/things`))
  t.notOk(mayUseTopic(user, `v1/${user}x/things/abc/data/1`), 'a username that only starts the same')
  t.notOk(mayUseTopic(user, `v1/other/things/abc/data/1`))
  t.notOk(mayUseTopic(user, `$SYS/broker/x`))
  t.notOk(mayUseTopic(user, `/v1/${user}/things/abc`))
})

t.test('mayUseFilter: no wildcard in the first three levels', async (t) => {
  t.ok(mayUseFilter(user, `v1/${user}/things/+/cmd/+`))
  t.ok(mayUseFilter(user, `v1/${user}/things/#`))
  t.notOk(mayUseFilter(user, `v1/${user}/#`))
  t.notOk(mayUseFilter(user, `v1/+/things/#`))
  t.notOk(mayUseFilter(user, '#'))
  t.notOk(mayUseFilter(user, `v1/${user}/things`))
  t.notOk(mayUseFilter('+', 'v1/+/things/#'), 'a username that is itself a wildcard')
  t.notOk(mayUseFilter('#', 'v1/#/things/x'))
})

t.test('commandSeqOf: the seq of a command the server sent', async (t) => {
  t.equal(commandSeqOf(Buffer.from('12,1')), 12)
  t.equal(commandSeqOf(Buffer.from('7,a,b')), 7)
  t.equal(commandSeqOf(Buffer.from('senderror,0')), undefined, 'a test client\'s own text seq')
  t.equal(commandSeqOf(Buffer.from('0,1')), undefined, 'seqs start at 1')
  t.equal(commandSeqOf(Buffer.from('12')), undefined, 'no value')
  t.equal(commandSeqOf(Buffer.from('')), undefined)
  t.equal(commandSeqOf(Buffer.from('1234567890123456789,1')), undefined, 'not a safe number')
})

t.test('topicMatches: MQTT filter matching', async (t) => {
  t.ok(topicMatches('a/+/c', 'a/b/c'))
  t.ok(topicMatches('a/#', 'a/b/c'))
  t.ok(topicMatches('a/#', 'a'), '# matches the parent level too')
  t.notOk(topicMatches('a/+', 'a/b/c'))
  t.notOk(topicMatches('a/b/c/d', 'a/b/c'))
  t.ok(topicMatches('a/b', 'a/b'))
})

t.test('revocationOf: which events end live connections', async (t) => {
  const event = (type: string, data: object) => ({ type, data }) as unknown as RecordedEvent
  t.strictSame(revocationOf(event('MqttClientSecretRotated', { clientId: 'u1' })), { username: 'u1' })
  t.strictSame(revocationOf(event('ThingDeactivated', { thingId: 't1' })), { thingId: 't1' })
  t.strictSame(revocationOf(event('ThingUpdated', { thingId: 't1', changes: { status: 'BLOCKED' } })), { thingId: 't1' })
  t.equal(revocationOf(event('ThingUpdated', { thingId: 't1', changes: { status: 'ACTIVE' } })), null)
  t.equal(revocationOf(event('ThingUpdated', { thingId: 't1', changes: { name: 'x' } })), null)
  t.equal(revocationOf(event('MqttClientCreated', { clientId: 'u1' })), null)
})
