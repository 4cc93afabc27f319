/** The registry's read models, rebuilt from the log, equal the ones built as the events came. */
import t from 'tap'
import { readModelSnapshot, rebuiltSnapshot } from '../helpers/rebuild.ts'
import { startTestServer } from '../helpers/server.ts'

const collections = ['things', 'provisioned_devices', 'thing_commands', 'mqtt_clients']

t.test('rebuilding the registry read models gives what was built incrementally', async (t) => {
  let clock = new Date('2026-07-01T00:00:00.000Z')
  const server = await startTestServer(t, { now: () => clock })
  const maker = server.tokenFor('account-maker')
  const user = server.tokenFor('account-home', { userId: 'user-1' })
  await server.api('POST', '/v1.1/clients', { token: user })
  await server.api('POST', '/v1.1/things/registry/batch', { token: maker, body: { hardware_ids: ['R-1', 'R-2', 'R-3'] } })
  clock = new Date('2026-07-02T00:00:00.000Z')
  const paired = await server.api<{ id: string }>('POST', '/v1.1/things/pair', { token: user, body: { hardware_id: 'R-2' } })
  const gateway = await server.api<{ id: string }>('POST', '/v1.1/things', {
    token: user,
    body: { name: 'Gateway', device_type_id: '00000000-0000-4000-8000-000000000002' },
  })
  await server.api('PUT', `/v1.1/things/${paired.body.id}`, { token: user, body: { parent_id: gateway.body.id, properties: { x: 1 } } })
  await server.api('POST', `/v1.1/things/${paired.body.id}/cmd`, { token: user, body: { value: 1, channel: 0 } })
  await server.api('DELETE', `/v1.1/things/${gateway.body.id}`, { token: user })

  const incremental = await readModelSnapshot(server.capsicum.readStore, collections)
  t.equal((incremental.things as unknown[]).length, 2)
  t.equal((incremental.provisioned_devices as unknown[]).length, 3)
  await server.close()

  t.strictSame(await rebuiltSnapshot(t, server.dataDir, collections), incremental)
})
