/** The auth server's read models (users, applications), rebuilt from the log, equal the ones built as the events came. */
import t from 'tap'
import { openEmbeddedStores } from '../../adapters/capsicum.ts'
import { loadConfig } from '../../adapters/config.ts'
import { allProjections } from '../../projections/index.ts'
import { ProjectionRunner } from '../../projections/runner.ts'
import type { ReadStore } from '../../projections/read-store.ts'
import { clientCredentials, createApp, createUser, passwordGrant } from '../helpers/auth.ts'
import { startTestServer } from '../helpers/server.ts'

const collections = ['users', 'applications']

t.test('rebuilding the users and applications read models gives what was built incrementally', async (t) => {
  const server = await startTestServer(t)
  const owner = await createUser(server)
  const app = await createApp(server, owner)
  const appToken = await clientCredentials(server, app)
  const created = await server.api<{ id: string }>('POST', '/users', {
    token: appToken,
    body: { first_name: 'Ada', last_name: 'L', email: 'ada@example.com', password: 'analytical' },
  })
  const ada = (await passwordGrant(server, app, { email: 'ada@example.com', password: 'analytical' })).body.access_token as string
  await server.api('PUT', `/users/${created.body.id}`, { token: ada, body: { last_name: 'Lovelace', user_class_id: 4 } })
  const ownerToken = (await passwordGrant(server, app, owner)).body.access_token as string
  const mine = await server.api<{ id: string }>('POST', '/applications', { token: ownerToken, body: { name: 'Mine', description: 'x' } })
  await server.api('POST', `/applications/${mine.body.id}/redirects`, { token: ownerToken, body: { redirect_uri: 'https://a.example/cb' } })
  const second = await server.api<{ id: string }>('POST', `/applications/${mine.body.id}/redirects`, { token: ownerToken, body: { redirect_uri: 'https://b.example/cb' } })
  await server.api('DELETE', `/applications/${mine.body.id}/redirects/${second.body.id}`, { token: ownerToken })
  await server.api('PUT', `/applications/${mine.body.id}`, { token: ownerToken, body: { status: 'inactive' } })

  const snapshot = async (store: ReadStore) =>
    Object.fromEntries(await Promise.all(collections.map(async (name) => [name, await store.collection(name).find({}, { orderBy: 'id' })] as const)))
  const incremental = await snapshot(server.capsicum.readStore)
  t.equal((incremental.users as unknown[]).length, 2)
  t.equal((incremental.applications as unknown[]).length, 2)
  t.notMatch(JSON.stringify(incremental), /scrypt|analytical|secret/i, 'no password, hash or secret in a read model')
  await server.close()

  const stores = openEmbeddedStores(loadConfig({ DATA_DIR: server.dataDir, LOG_LEVEL: 'silent' }))
  t.teardown(() => stores.close())
  const runner = new ProjectionRunner({
    eventStore: stores.eventStore,
    readStore: stores.readStore,
    projections: allProjections,
    logger: { info: () => {}, warn: () => {}, error: () => {} },
  })
  await runner.rebuild()
  t.strictSame(await snapshot(stores.readStore), incremental)
})
