/** The user and application endpoints over real HTTP: who may do what, validation, shapes. */
import t from 'tap'
import { clientCredentials, createApp, createUser, passwordGrant } from '../helpers/auth.ts'
import { startTestServer } from '../helpers/server.ts'

t.test('users', async (t) => {
  const server = await startTestServer(t)
  const owner = await createUser(server)
  const app = await createApp(server, owner)
  const appToken = await clientCredentials(server, app)
  const admin = await createUser(server, { admin: true })
  const adminToken = (await passwordGrant(server, app, admin)).body.access_token as string
  const newUser = { first_name: 'Ada', last_name: 'Lovelace', email: 'Ada@Example.com', password: 'analytical', user_class_id: 2, user_group_id: 3 }

  let created: Record<string, unknown> = {}
  await t.test('an application creates a user for itself; the password is never returned', async (t) => {
    const res = await server.api<Record<string, unknown>>('POST', '/users', { token: appToken, body: newUser })
    t.equal(res.status, 201)
    created = res.body
    t.match(res.body, { first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com', user_class_id: 2, user_groups_id: 3, application_id: app.clientId })
    t.notOk('password' in res.body)
    t.notMatch(res.text, /analytical|scrypt/)
    const events = await server.capsicum.eventStore.readStream(`user-${String(res.body.id)}`)
    t.notMatch(JSON.stringify(events), /analytical/, 'the clear password is in no event')
    t.match(JSON.stringify(events), /scrypt\$/, 'a slow salted hash is')
  })

  await t.test('the e-mail is unique, whatever its case (a management token is told so; see signup-enumeration.test.ts)', async (t) => {
    const managementToken = await clientCredentials(server, await createApp(server, owner, { management: true }))
    const res = await server.api<{ error: string; details: { field: string }[] }>('POST', '/users', { token: managementToken, body: { ...newUser, email: 'ADA@example.com' } })
    t.equal(res.status, 409)
    t.equal(res.body.details[0]?.field, 'email')
  })

  await t.test('bad input is a 400 naming each field, and writes nothing', async (t) => {
    const before = await server.capsicum.eventStore.headPosition()
    const res = await server.api<{ details: { field: string }[] }>('POST', '/users', {
      token: appToken,
      body: { first_name: '', email: 'not-an-email', password: 'short' },
    })
    t.equal(res.status, 400)
    t.strictSame(res.body.details.map((d) => d.field).sort(), ['email', 'first_name', 'last_name', 'password'])
    t.equal(await server.capsicum.eventStore.headPosition(), before, 'nothing half-written')
  })

  await t.test('who may create users', async (t) => {
    const userToken = (await passwordGrant(server, app, owner)).body.access_token as string
    t.equal((await server.api('POST', '/users', { token: userToken, body: { ...newUser, email: 'x@example.com' } })).status, 403, 'not a plain user')
    const other = await createApp(server, owner, { name: 'Other' })
    t.equal(
      (await server.api('POST', '/users', { token: appToken, body: { ...newUser, email: 'y@example.com', application_id: other.clientId } })).status,
      403,
      'not for another application',
    )
    t.equal((await server.api('POST', '/users', { body: newUser })).status, 401, 'not without a token')
    const byAdmin = await server.api<Record<string, unknown>>('POST', '/users', { token: adminToken, body: { ...newUser, email: 'z@example.com', application_id: other.clientId } })
    t.equal(byAdmin.status, 201, 'an admin may')
  })

  await t.test('a user reads and updates only themself', async (t) => {
    const ada = await passwordGrant(server, app, { email: 'ada@example.com', password: 'analytical' })
    const adaToken = ada.body.access_token as string
    const self = await server.api<Record<string, unknown>>('GET', `/users/${String(created.id)}`, { token: adaToken })
    t.equal(self.status, 200)
    t.match(self.body, { id: created.id, email: 'ada@example.com', last_login: String, phone_number: null, created_at: String, updated_at: String, user_class_id: 2 })
    t.equal((await server.api('GET', `/users/${owner.userId}`, { token: adaToken })).status, 404, "another user's is not found")
    t.equal((await server.api('GET', `/users/${String(created.id)}`, { token: appToken })).status, 200, 'its application reads it')
    t.equal((await server.api('GET', `/users/${owner.userId}`, { token: adminToken })).status, 200, 'an admin reads anyone')

    const updated = await server.api<Record<string, unknown>>('PUT', `/users/${String(created.id)}`, { token: adaToken, body: { first_name: 'Augusta', phone_number: '+44 1' } })
    t.equal(updated.status, 200)
    t.match(updated.body, { first_name: 'Augusta', last_name: 'Lovelace', phone_number: '+44 1' })
    const email = await server.api<{ error: string; details: { field: string; problem: string }[] }>('PUT', `/users/${String(created.id)}`, { token: adaToken, body: { email: 'new@example.com' } })
    t.equal(email.status, 400)
    t.match(email.body.details[0], { field: 'email', problem: /cannot be changed/ })
    t.equal((await server.api('PUT', `/users/${String(created.id)}`, { token: adaToken, body: { email: 'ada@example.com', last_name: 'King' } })).status, 200, 'the same e-mail is fine')
    const password = await server.api<{ details: { field: string }[] }>('PUT', `/users/${String(created.id)}`, { token: adaToken, body: { password: 'newpassword' } })
    t.equal(password.status, 400)
    t.equal(password.body.details[0]?.field, 'password')
    t.equal((await server.api('PUT', `/users/${owner.userId}`, { token: adaToken, body: { first_name: 'Mallory' } })).status, 404)
  })
})

t.test('applications', async (t) => {
  const server = await startTestServer(t)
  const alice = await createUser(server)
  const bob = await createUser(server)
  const bootstrap = await createApp(server, alice)
  const aliceToken = (await passwordGrant(server, bootstrap, alice)).body.access_token as string
  const bobToken = (await passwordGrant(server, bootstrap, bob)).body.access_token as string

  const created = await server.api<Record<string, unknown>>('POST', '/applications', { token: aliceToken, body: { name: 'My app', description: 'Mine' } })
  t.equal(created.status, 201)
  t.match(created.body, { name: 'My app', description: 'Mine', status: 'active', account_id: alice.accountId, client_secret: String })
  t.equal(created.body.client_id, created.body.id, 'the App Key is the application id')
  const id = String(created.body.id)
  const events = await server.capsicum.eventStore.readStream(`application-${id}`)
  t.notMatch(JSON.stringify(events), String(created.body.client_secret), 'the secret is in no event')

  const got = await server.api<Record<string, unknown>>('GET', `/applications/${id}`, { token: aliceToken })
  t.equal(got.status, 200)
  t.notOk('client_secret' in got.body, 'the secret is shown only once')
  t.equal((await server.api('GET', `/applications/${id}`, { token: bobToken })).status, 404, "another account's is not found")
  t.equal((await server.api('PUT', `/applications/${id}`, { token: bobToken, body: { name: 'Stolen' } })).status, 404)

  const list = await server.api<{ id: string }[]>('GET', '/applications', { token: aliceToken })
  t.ok(list.body.some((a) => a.id === id))
  t.notOk((await server.api<{ id: string }[]>('GET', '/applications', { token: bobToken })).body.some((a) => a.id === id))

  const renamed = await server.api<Record<string, unknown>>('PUT', `/applications/${id}`, { token: aliceToken, body: { name: 'Renamed', status: 'inactive' } })
  t.match(renamed.body, { name: 'Renamed', description: 'Mine', status: 'inactive' })
  t.equal((await server.api<unknown[]>('GET', '/applications?status=inactive', { token: aliceToken })).body.length, 1)
  t.equal((await server.api('GET', '/applications?status=gone', { token: aliceToken })).status, 400)
  t.equal((await server.api('PUT', `/applications/${id}`, { token: aliceToken, body: { status: 'blocked' } })).status, 403, 'only an admin blocks')

  await t.test('redirect URIs: absolute, no fragment, https, loopback http or a private-use scheme', async (t) => {
    for (const good of ['https://app.example.com/cb', 'http://localhost:8080', 'http://127.0.0.1:3000/cb', 'http://[::1]/cb', 'com.example.app:/oauth']) {
      const res = await server.api<Record<string, unknown>>('POST', `/applications/${id}/redirects`, { token: aliceToken, body: { redirect_uri: good } })
      t.equal(res.status, 200, `accepts ${good}`)
      t.match(res.body, { id: String, app_id: id, redirect_uri: good, created_at: String, updated_at: String })
    }
    for (const bad of ['/relative', 'http://example.com/cb', 'https://app.example.com/cb#frag', 'javascript:alert(1)', 'data:text/html,x', 'myapp:/cb', 'not a uri']) {
      const res = await server.api<{ details: { field: string }[] }>('POST', `/applications/${id}/redirects`, { token: aliceToken, body: { redirect_uri: bad } })
      t.equal(res.status, 400, `refuses ${bad}`)
      t.equal(res.body.details[0]?.field, 'redirect_uri')
    }
    const listed = await server.api<{ id: string; redirect_uri: string }[]>('GET', `/applications/${id}/redirects`, { token: aliceToken })
    t.equal(listed.body.length, 5)
    const removed = await server.api('DELETE', `/applications/${id}/redirects/${listed.body[0]!.id}`, { token: aliceToken })
    t.equal(removed.status, 204)
    t.equal((await server.api<unknown[]>('GET', `/applications/${id}/redirects`, { token: aliceToken })).body.length, 4)
    t.equal((await server.api('POST', `/applications/${id}/redirects`, { token: bobToken, body: { redirect_uri: 'https://evil.example/' } })).status, 404)
  })
})
