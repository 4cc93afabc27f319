/**
 * Cluster mode against the real Redis on this machine: two brokers share sessions,
 * retained messages and fan-out. Each run uses a key/channel prefix of its own and
 * deletes its keys afterwards.
 */
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { startMqttEndpoint, type MqttEndpoint } from '../../adapters/mqtt/endpoint.ts'
import { loadConfig } from '../../adapters/config.ts'
import { AesGcmSecretBox } from '../../adapters/secret-box.ts'
import type { RecordedEvent } from '../../domain/ports/event-store.ts'
import type { CommandRequested } from '../../domain/thing/thing.ts'
import { deviceCommands } from '../../streams/reactors/device-commands.ts'
import { connectDevice, deviceAccount } from '../helpers/mqtt.ts'
import { startTestServer, type TestServer } from '../helpers/server.ts'

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

async function brokerNode(t: Test, server: TestServer, prefix: string, url = redisUrl): Promise<MqttEndpoint> {
  const config = loadConfig({ DATA_DIR: server.dataDir, REDIS_URL: url, MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', LOG_LEVEL: 'silent', RATE_LIMITS: 'off' })
  const { eventStore, readStore, telemetry, logger, runner } = server.capsicum
  const endpoint = await startMqttEndpoint({
    config,
    logger,
    now: () => new Date(),
    newId: () => crypto.randomUUID(),
    eventStore,
    readStore,
    telemetry,
    secretBox: AesGcmSecretBox.load(config),
    listen: true,
    settled: (position) => runner.waitFor(position, 5000),
    redisPrefix: prefix,
  })
  t.teardown(() => endpoint.close())
  return endpoint
}

t.test('two brokers on one Redis', async (t) => {
  const prefix = `capsicum-test-${crypto.randomUUID()}`
  const redis = new Redis(redisUrl)
  t.teardown(async () => {
    const keys = await redis.keys(`${prefix}:*`)
    if (keys.length > 0) await redis.del(...keys)
    redis.disconnect()
  })
  const server = await startTestServer(t)
  const a = await brokerNode(t, server, prefix)
  const b = await brokerNode(t, server, prefix)
  t.not(a.url, b.url, 'two listeners')
  const account = await deviceAccount(server, { things: 3 })

  await t.test('a subscriber on one receives a publish made on the other', async (t) => {
    const onA = await connectDevice(t, a.url!, account.device(0))
    await onA.subscribe(account.topic(1, 'data/+'), 1)
    const onB = await connectDevice(t, b.url!, account.device(1))
    await onB.publish(account.topic(1, 'data/1'), 'from B', { qos: 1 })
    t.equal((await onA.nextMessage((m) => m.topic === account.topic(1, 'data/1'), 'the message through Redis')).text, 'from B')
  })

  await t.test('a retained message stored through one is served by the other', async (t) => {
    const onA = await connectDevice(t, a.url!, account.device(0))
    await onA.publish(account.topic(0, 'data/9'), 'kept', { qos: 1, retain: true })
    const onB = await connectDevice(t, b.url!, account.device(1))
    await onB.subscribe(account.topic(0, 'data/9'))
    const message = await onB.nextMessage((m) => m.topic === account.topic(0, 'data/9'), 'the retained message')
    t.equal(message.text, 'kept')
    t.equal(message.retain, true)
  })

  await t.test('a QoS 1 persistent session follows the device from one broker to the other', async (t) => {
    const onA = await connectDevice(t, a.url!, { ...account.device(2), clean: false })
    await onA.subscribe(account.topic(2, 'cmd/+'), 1)
    await onA.end()
    const sender = await connectDevice(t, b.url!, account.device(0))
    await sender.publish(account.topic(2, 'cmd/1'), 'while away,1', { qos: 1 })
    const onB = await connectDevice(t, b.url!, { ...account.device(2), clean: false })
    t.equal((await onB.nextMessage((m) => m.topic === account.topic(2, 'cmd/1'), 'the queued message on B')).text, 'while away,1')
    await onB.end()
  })

  await t.test('a command published by a node that never saw the device reaches it (every username of the account)', async (t) => {
    t.equal((await server.api('POST', `/v1.1/things/${account.thingIds[2]}/cmd`, { token: account.token, body: { channel: 7, value: 70 } })).status, 200)
    const events = (await server.capsicum.eventStore.readStream(`thing-${account.thingIds[2]}`)) as RecordedEvent<CommandRequested>[]
    const requested = events.find((e) => e.type === 'CommandRequested')!
    const viaB = deviceCommands({ ...b.deviceCommands, usernamesFor: (thingId) => b.deviceCommands.usernamesFor(thingId) })
    t.strictSame(await b.deviceCommands.usernamesFor(account.thingIds[2]!), [account.username], 'B falls back to the account\'s usernames')
    await viaB.handle(requested as unknown as RecordedEvent)
    const onA = await connectDevice(t, a.url!, { ...account.device(2), clean: false })
    t.equal((await onA.nextMessage((m) => m.topic === account.topic(2, 'cmd/7'), 'the command on A')).text, `${requested.data.seq},70`)
  })

  await t.test('the same client id connecting on the other broker takes the session over', async (t) => {
    const onA = await connectDevice(t, a.url!, account.device(1))
    const closed = onA.closed('the older connection on A to be closed')
    await connectDevice(t, b.url!, account.device(1))
    await closed
    t.pass('one connection per client id across the cluster')
  })
})

t.test('an unreachable Redis stops the start with a message naming it', async (t) => {
  const server = await startTestServer(t)
  await t.rejects(brokerNode(t, server, 'capsicum-unreachable', 'redis://127.0.0.1:1'), /REDIS_URL cannot be reached/)
})
