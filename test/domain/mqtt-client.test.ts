import t from 'tap'
import { NotFoundError } from '../../domain/errors.ts'
import { mqttClientDecider, type MqttClientEvent } from '../../domain/mqtt-client/mqtt-client.ts'
import { given } from '../helpers/decider-spec.ts'

const now = new Date('2026-01-02T03:04:05.000Z')
const clientId = '11111111-1111-4111-8111-111111111111'
const spec = given(mqttClientDecider, now)
const create = { type: 'CreateMqttClient', data: { clientId, accountId: 'acc-1', applicationId: null, sealedSecret: 'v1.sealed-a' } } as const
const created: MqttClientEvent = {
  type: 'MqttClientCreated',
  data: { clientId, accountId: 'acc-1', applicationId: null, sealedSecret: 'v1.sealed-a', createdAt: '2026-01-01T00:00:00.000Z' },
}

t.test('no credentials yet', async (t) => {
  t.test('creates them with the sealed secret', async (t) => {
    spec([]).when(create).then(t, [{ type: 'MqttClientCreated', data: { ...create.data, createdAt: now.toISOString() } }])
  })
  t.test('refuses a rotation as not found', async (t) => {
    spec([]).when({ type: 'RotateMqttClientSecret', data: { clientId, accountId: 'acc-1', sealedSecret: 'v1.b' } }).thenThrows(t, NotFoundError)
  })
})

t.test('existing credentials', async (t) => {
  t.test('asking again records nothing: the same set is returned', async (t) => {
    spec([created]).when({ ...create, data: { ...create.data, sealedSecret: 'v1.another' } }).thenNothingHappened(t)
  })
  t.test('rotate to a new sealed secret', async (t) => {
    spec([created]).when({ type: 'RotateMqttClientSecret', data: { clientId, accountId: 'acc-1', sealedSecret: 'v1.b' } }).then(t, [
      { type: 'MqttClientSecretRotated', data: { clientId, sealedSecret: 'v1.b', rotatedAt: now.toISOString() } },
    ])
  })
  t.test("refuses another account's rotation as not found", async (t) => {
    spec([created]).when({ type: 'RotateMqttClientSecret', data: { clientId, accountId: 'acc-2', sealedSecret: 'v1.b' } }).thenThrows(t, NotFoundError)
  })
})
