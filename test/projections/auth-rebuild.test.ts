/** The auth server's read models (users, applications), rebuilt from the log, equal the ones built as the events came. */
import t from 'tap'
import { clientCredentials, createApp, createUser, passwordGrant } from '../helpers/auth.ts'
import { readModelSnapshot, rebuiltSnapshot } from '../helpers/rebuild.ts'
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

  const incremental = await readModelSnapshot(server.capsicum.readStore, collections)
  t.equal((incremental.users as unknown[]).length, 2)
  t.equal((incremental.applications as unknown[]).length, 3, 'the two made here and the built-in dashboard client')
  t.notMatch(JSON.stringify(incremental), /scrypt|analytical|secret/i, 'no password, hash or secret in a read model')
  await server.close()

  t.strictSame(await rebuiltSnapshot(t, server.dataDir, collections), incremental)
})
