/**
 * Device authentication (CONNACK codes) over MQTT 3.1 and 3.1.1: username = MQTT client
 * id, password = its clear_secret, client id = a thing of the same account.
 */
import t from 'tap'
import { connackCode, connectDevice, deviceAccount } from '../helpers/mqtt.ts'
import { startTestServer } from '../helpers/server.ts'

t.test('CONNACK codes', async (t) => {
  const server = await startTestServer(t)
  const url = server.capsicum.mqttUrl!
  t.match(url, /^mqtt:\/\/127\.0\.0\.1:\d+$/, 'the broker listens on a free port')
  t.not(server.capsicum.mqttPort, 1883)
  const alice = await deviceAccount(server, { things: 4 })
  const bob = await deviceAccount(server)

  await t.test('accepts the right credentials over MQTT 3.1 and 3.1.1', async (t) => {
    t.equal(await connackCode(url, { ...alice.device(0), protocolVersion: 3 }), 0, 'MQTT 3.1 (MQIsdp), as the C libraries speak it')
    t.equal(await connackCode(url, { ...alice.device(0), protocolVersion: 4 }), 0, 'MQTT 3.1.1')
    t.equal(await connackCode(url, alice.device(1)), 0, 'any thing of the account')
  })

  await t.test('refuses wrong credentials with 4 (bad user name or password)', async (t) => {
    t.equal(await connackCode(url, { ...alice.device(0), password: 'not-the-secret' }), 4, 'wrong password')
    t.equal(await connackCode(url, { ...alice.device(0), password: bob.password }), 4, "another account's password")
    t.equal(await connackCode(url, { ...alice.device(0), username: crypto.randomUUID() }), 4, 'unknown user name')
    t.equal(await connackCode(url, { ...alice.device(0), username: '' }), 4, 'empty user name')
    t.equal(await connackCode(url, { ...alice.device(0), password: '' }), 4, 'empty password')
    t.equal(await connackCode(url, { ...alice.device(0), protocolVersion: 3, password: 'nope' }), 4, 'MQTT 3.1 too')
  })

  await t.test('refuses a client id that is not an ACTIVE thing of the account with 5 (not authorized)', async (t) => {
    t.equal(await connackCode(url, { ...alice.device(0), clientId: bob.thingIds[0]! }), 5, "another account's thing")
    t.equal(await connackCode(url, { ...alice.device(0), clientId: crypto.randomUUID() }), 5, 'an unknown thing')
    t.equal(await connackCode(url, { ...alice.device(0), clientId: 'bridge-myhost-1234' }), 5, 'a client id that is no thing (the hapi bridge)')
    t.equal(await connackCode(url, { ...alice.device(0), clientId: 'bridge-myhost-1234', protocolVersion: 3 }), 5, 'MQTT 3.1 too')

    const deactivated = await server.api('DELETE', `/v1.1/things/${alice.thingIds[2]}`, { token: alice.token })
    t.equal(deactivated.status, 200)
    t.equal(await connackCode(url, alice.device(2)), 5, 'a DEACTIVATED thing')

    const blocked = await server.api('PUT', `/v1.1/things/${alice.thingIds[3]}`, { token: alice.token, body: { status: 'BLOCKED' } })
    t.equal(blocked.status, 200, blocked.text)
    t.equal(await connackCode(url, alice.device(3)), 5, 'a BLOCKED thing')
  })

  await t.test('a rotated secret stops working at once, and its live connections end', async (t) => {
    const device = await connectDevice(t, url, alice.device(1))
    const rotated = await server.api<{ id: string; clear_secret: string }>('POST', `/v1.1/clients/${alice.username}/rotate`, { token: alice.token })
    t.equal(rotated.status, 200)
    await device.closed('the live connection with the old secret to end')
    t.equal(await connackCode(url, alice.device(1)), 4, 'the old secret is refused')
    t.equal(await connackCode(url, { ...alice.device(1), password: rotated.body.clear_secret }), 0, 'the new one works')
  })

  await t.test('a thing deactivated while connected is disconnected', async (t) => {
    const device = await connectDevice(t, url, { ...alice.device(0), password: (await server.api<{ clear_secret: string }>('POST', '/v1.1/clients', { token: alice.token })).body.clear_secret })
    t.equal((await server.api('DELETE', `/v1.1/things/${alice.thingIds[0]}`, { token: alice.token })).status, 200)
    await device.closed('the connection of the deactivated thing to end')
  })
})
