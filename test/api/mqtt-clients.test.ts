import t from 'tap'
import { startTestServer } from '../helpers/server.ts'

interface Credentials {
  id: string
  clear_secret: string
}

t.test('MQTT client credentials over HTTP', async (t) => {
  const server = await startTestServer(t)
  const alice = server.tokenFor('account-alice')
  const bob = server.tokenFor('account-bob')

  let first: Credentials
  await t.test('POST /v1.1/clients creates the credentials as the API text shows them', async (t) => {
    const res = await server.api<Credentials>('POST', '/v1.1/clients', { token: alice })
    t.equal(res.status, 201)
    t.strictSame(Object.keys(res.body).sort(), ['clear_secret', 'id'])
    t.match(res.body.id, /^[0-9a-f-]{36}$/)
    t.match(res.body.clear_secret, /^[0-9a-f]{40}$/)
    first = res.body
  })

  await t.test('the same request retrieves the same set', async (t) => {
    const again = await server.api<Credentials>('POST', '/v1.1/clients', { token: alice })
    t.equal(again.status, 200)
    t.strictSame(again.body, first)
  })

  await t.test('the secret is never in clear in an event or a read model', async (t) => {
    const events = await server.capsicum.eventStore.readAll({ fromPosition: null, maxCount: 10_000 })
    t.notOk(JSON.stringify(events).includes(first.clear_secret), 'not in the event log')
    const doc = await server.capsicum.readStore.collection('mqtt_clients').get(first.id)
    t.ok(doc, 'the read model has the client')
    t.notOk(JSON.stringify(doc).includes(first.clear_secret), 'not in the read model')
  })

  await t.test('another account gets its own set', async (t) => {
    const res = await server.api<Credentials>('POST', '/v1.1/clients', { token: bob })
    t.equal(res.status, 201)
    t.not(res.body.id, first.id)
    t.not(res.body.clear_secret, first.clear_secret)
  })

  await t.test('each application of an account gets its own set', async (t) => {
    const appToken = server.capsicum.tokens.sign({ sub: 'app-1', account_id: 'account-alice', roles: [], application_id: 'app-1' })
    const res = await server.api<Credentials>('POST', '/v1.1/clients', { token: appToken })
    t.equal(res.status, 201)
    t.not(res.body.id, first.id)
  })

  await t.test('rotate issues a new secret, which POST /v1.1/clients then returns', async (t) => {
    const rotated = await server.api<Credentials>('POST', `/v1.1/clients/${first.id}/rotate`, { token: alice })
    t.equal(rotated.status, 200)
    t.equal(rotated.body.id, first.id)
    t.not(rotated.body.clear_secret, first.clear_secret)
    const again = await server.api<Credentials>('POST', '/v1.1/clients', { token: alice })
    t.strictSame(again.body, rotated.body)
    first = rotated.body
  })

  await t.test("another account cannot rotate the credentials: 404", async (t) => {
    const res = await server.api('POST', `/v1.1/clients/${first.id}/rotate`, { token: bob })
    t.equal(res.status, 404)
    t.match(res.body, { error: 'mqtt_client_not_found' })
    const unknown = await server.api('POST', '/v1.1/clients/7a3c1f4e-0000-4000-8000-000000000000/rotate', { token: alice })
    t.equal(unknown.status, 404)
    const malformed = await server.api('POST', '/v1.1/clients/nope/rotate', { token: alice })
    t.equal(malformed.status, 404)
  })

  await t.test('a management token may act for another account; others may not', async (t) => {
    const manager = server.tokenFor('account-ops', { roles: ['management'] })
    const res = await server.api<Credentials>('POST', '/v1.1/clients?account_id=account-carol', { token: manager })
    t.equal(res.status, 201)
    const carol = await server.api<Credentials>('POST', '/v1.1/clients', { token: server.tokenFor('account-carol') })
    t.strictSame(carol.body, res.body, "carol sees the set made for her account")
    const refused = await server.api('POST', '/v1.1/clients?account_id=account-carol', { token: bob })
    t.equal(refused.status, 403)
  })

  await t.test('needs a token', async (t) => {
    t.equal((await server.api('POST', '/v1.1/clients')).status, 401)
  })

  await t.test('the secret survives a restart (sealed with the key in DATA_DIR)', async (t) => {
    await server.close()
    const again = await startTestServer(t, { dataDir: server.dataDir })
    const res = await again.api<Credentials>('POST', '/v1.1/clients', { token: again.tokenFor('account-alice') })
    t.equal(res.status, 200)
    t.strictSame(res.body, first)
  })
})
