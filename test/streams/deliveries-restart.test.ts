/**
 * No side effect twice: a restart resumes the delivery reactors from their checkpoints;
 * a redelivery from an older checkpoint (a crash after sending, before the checkpoint
 * moved) finds its deliveries done; a rebuild of the read models sends nothing, and
 * gives the deliveries read model that was built incrementally.
 */
import t from 'tap'
import { openEmbeddedStores } from '../../adapters/capsicum.ts'
import { loadConfig } from '../../adapters/config.ts'
import { allProjections } from '../../projections/index.ts'
import { deliveriesCausedBy } from '../../projections/deliveries.ts'
import { ProjectionRunner } from '../../projections/runner.ts'
import { deliveryIn, fireRule, startReceiver, startSmtp, thingOf } from '../helpers/deliveries.ts'
import { readModelSnapshot } from '../helpers/rebuild.ts'
import { startTestServer, tempDataDir, type TestServer } from '../helpers/server.ts'

const start = new Date('2026-03-01T10:00:00.000Z')
const deliveryReactorNames = ['deviceActions', 'emailNotifications', 'smsNotifications', 'httpPushes']
const silent = { info: () => {}, warn: () => {}, error: () => {} }

t.test('a restart, a redelivery and a rebuild send nothing twice', async (t) => {
  const smtp = await startSmtp(t)
  const receiver = await startReceiver(t, () => ({ status: 200 }))
  const dataDir = tempDataDir(t)
  const boot = () => startTestServer(t, { dataDir, env: { SMTP_URL: smtp.url, HTTP_PUSH_ALLOW_PRIVATE: 'true' }, now: () => start })
  let server = await boot()
  const token = server.tokenFor('acc-r')
  const thingId = await thingOf(server, token, 'Valve')

  /** Fires the rule and waits until its command, e-mail and push are delivered. */
  const fire = async (running: TestServer, n: number): Promise<string> => {
    const eventId = await fireRule(running, {
      accountId: 'acc-r',
      title: `Pressure ${n}`,
      reading: { thingId, channel: '1', type: 'pressure', unit: 'bar', value: n, at: start.toISOString() },
      effects: {
        actions: [{ thingId, channel: '4', value: n, unit: null }],
        notifications: [{ method: 'email', value: 'ops@example.com', body: null }],
        httpPush: [{ method: 'POST', url: `${receiver.url}/p`, headers: {}, payload: { n } }],
      },
      at: start.toISOString(),
    })
    await deliveryIn(running, 'acc-r', eventId, 'action', 0, ['succeeded'])
    await deliveryIn(running, 'acc-r', eventId, 'notification', 0, ['succeeded'])
    await deliveryIn(running, 'acc-r', eventId, 'http_push', 0, ['succeeded'])
    return eventId
  }
  const sent = async (running: TestServer) => ({
    mails: smtp.count(),
    pushes: receiver.received.map((r) => JSON.parse(r.body) as { n: number }).map((p) => p.n),
    commands: (await running.capsicum.eventStore.readStream(`thing-${thingId}`)).filter((e) => e.type === 'CommandRequested').map((e) => (e.data as { value: number }).value),
  })

  const beforeFirst = await server.capsicum.eventStore.headPosition()
  const first = await fire(server, 1)
  t.strictSame(await sent(server), { mails: 1, pushes: [1], commands: [1] })
  t.strictSame(
    (await deliveriesCausedBy(server.capsicum.readStore, first)).map((d) => [d.channel, d.cause.effect, d.status]),
    [
      ['command', 'actions[0]', 'succeeded'],
      ['email', 'notifications[0]', 'succeeded'],
      ['http_push', 'http_push[0]', 'succeeded'],
    ],
    "the run's outcomes, in the order of its effects",
  )
  await server.close()

  await t.test('after a restart the reactors resume from their checkpoints', async (t) => {
    server = await boot()
    await fire(server, 2)
    // The reactors go in log order: had the first fire been redelivered, it would show before the second.
    t.strictSame(await sent(server), { mails: 2, pushes: [1, 2], commands: [1, 2] })
    await server.close()
  })

  await t.test('redelivered from an older checkpoint, the delivered effects are recognised', async (t) => {
    const stores = openEmbeddedStores(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }))
    await stores.readStore.commit([], new Map(deliveryReactorNames.map((name) => [`reactor:${name}`, { position: beforeFirst, version: 1 }])))
    await stores.close()
    server = await boot()
    await fire(server, 3)
    t.strictSame(await sent(server), { mails: 3, pushes: [1, 2, 3], commands: [1, 2, 3] }, 'fires 1 and 2 went through the reactors again and sent nothing')
  })

  await t.test('a rebuild sends nothing and gives the same read model', async (t) => {
    const incremental = await readModelSnapshot(server.capsicum.readStore, ['deliveries'])
    t.equal((incremental.deliveries as unknown[]).length, 9)
    await server.close()
    const stores = openEmbeddedStores(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }))
    try {
      await new ProjectionRunner({ eventStore: stores.eventStore, readStore: stores.readStore, projections: allProjections, logger: silent }).rebuild()
      t.strictSame(await readModelSnapshot(stores.readStore, ['deliveries']), incremental, 'rebuilt equals incremental')
    } finally {
      await stores.close()
    }
    server = await boot()
    await fire(server, 4)
    t.strictSame(await sent(server), { mails: 4, pushes: [1, 2, 3, 4], commands: [1, 2, 3, 4] })
  })
})
