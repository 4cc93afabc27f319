import t from 'tap'
import { genericThingTypeId } from '../../domain/thing-type/thing-type.ts'
import { startTestServer } from '../helpers/server.ts'

interface ThingType {
  id: string
  name: string
  description: string
  category: string | null
  parent_constraint: string
  child_constraint: string
  transport_protocol: string
  created_at: string
  updated_at: string
  [field: string]: unknown
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

t.test('thing types over HTTP', async (t) => {
  let clock = new Date('2026-03-01T10:00:00.000Z')
  const server = await startTestServer(t, { now: () => clock })
  const alice = server.tokenFor('account-alice')
  const bob = server.tokenFor('account-bob')

  const register = (body: unknown, token = alice) => server.api<ThingType>('POST', '/v1.1/things/types', { token, body })

  await t.test('registers a type as the API text shows it', async (t) => {
    const res = await register({ name: 'test name 2', description: 'test description 2', category: 'computer' })
    t.equal(res.status, 200)
    t.match(res.body.id, uuid)
    t.strictSame(res.body, {
      id: res.body.id,
      name: 'test name 2',
      description: 'test description 2',
      category: 'computer',
      subcategory: null,
      parent_constraint: 'NOT_ALLOWED',
      child_constraint: 'ALLOWED',
      model: null,
      version: null,
      manufacturer: null,
      transport_protocol: 'mqtt',
      protocol_version: null,
      created_at: '2026-03-01T10:00:00.000Z',
      updated_at: '2026-03-01T10:00:00.000Z',
      data_type: null,
      proxy_handler: null,
    })
    t.equal(res.headers.get('etag'), '"0"')

    const read = await server.api<ThingType>('GET', `/v1.1/things/types/${res.body.id}`, { token: alice })
    t.equal(read.status, 200, 'a GET right after the POST sees the type (read-your-writes)')
    t.strictSame(read.body, res.body)
  })

  await t.test('derives the hierarchy constraints from the category', async (t) => {
    const expected: Record<string, [string, string]> = {
      computer: ['NOT_ALLOWED', 'ALLOWED'],
      sensor: ['ALLOWED', 'NOT_ALLOWED'],
      actuator: ['ALLOWED', 'NOT_ALLOWED'],
      module: ['ALLOWED', 'ALLOWED'],
    }
    for (const [category, [parent, child]] of Object.entries(expected)) {
      const res = await register({ name: `A ${category}`, description: 'd', category })
      t.equal(res.status, 200)
      t.equal(res.body.parent_constraint, parent, `${category}: parent_constraint`)
      t.equal(res.body.child_constraint, child, `${category}: child_constraint`)
    }
    const none = await register({ name: 'No category', description: 'd' })
    t.strictSame([none.body.category, none.body.parent_constraint, none.body.child_constraint], [null, 'ALLOWED', 'ALLOWED'])
  })

  await t.test('keeps every optional field', async (t) => {
    const body = {
      name: 'Exuino',
      description: 'ExuinoBeta',
      model: 'Beta',
      version: '2',
      manufacturer: 'Exuino Inc',
      transport_protocol: 'http',
      protocol_version: '1.1',
      category: 'module',
      subcategory: 'lora',
      data_type: 'temperature',
    }
    const res = await register(body)
    t.equal(res.status, 200)
    t.match(res.body, body)
  })

  await t.test('accepts a form-encoded body', async (t) => {
    const res = await server.api<ThingType>('POST', '/v1.1/things/types', {
      token: alice,
      rawBody: 'name=Form+type&description=sent+as+a+form&category=sensor',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    t.equal(res.status, 200)
    t.equal(res.body.name, 'Form type')
    t.equal(res.body.category, 'sensor')
  })

  await t.test('lists the built-in types and only the account\'s own', async (t) => {
    const mine = await server.api<ThingType[]>('GET', '/v1.1/things/types', { token: alice })
    t.equal(mine.status, 200)
    t.ok(mine.body.some((type) => type.id === genericThingTypeId), 'the generic type is listed')
    t.ok(mine.body.some((type) => type.name === 'test name 2'))
    const theirs = await server.api<ThingType[]>('GET', '/v1.1/things/types', { token: bob })
    t.equal(theirs.status, 200)
    t.notOk(theirs.body.some((type) => type.name === 'test name 2'), "bob does not see alice's types")
    t.ok(theirs.body.some((type) => type.id === genericThingTypeId), 'bob sees the built-in types')
    t.equal(theirs.body.length, 4, 'bob has only the four built-in types')
  })

  await t.test("refuses another account's type as not found", async (t) => {
    const res = await register({ name: 'Secret', description: 'alice only' })
    const read = await server.api('GET', `/v1.1/things/types/${res.body.id}`, { token: bob })
    t.equal(read.status, 404)
    t.match(read.body, { error: 'thing_type_not_found' })
    const update = await server.api('PUT', `/v1.1/things/types/${res.body.id}`, { token: bob, body: { name: 'Mine now' } })
    t.equal(update.status, 404)
    const after = await server.api<ThingType>('GET', `/v1.1/things/types/${res.body.id}`, { token: alice })
    t.equal(after.body.name, 'Secret', 'nothing changed')
  })

  await t.test('answers 404 for unknown and malformed ids', async (t) => {
    t.equal((await server.api('GET', '/v1.1/things/types/6f1e2a44-6f8e-4c41-9a59-000000000000', { token: alice })).status, 404)
    t.equal((await server.api('GET', '/v1.1/things/types/not-a-uuid', { token: alice })).status, 404)
  })

  await t.test('updates partially', async (t) => {
    const created = await register({ name: 'Gateway', description: 'first', category: 'computer', model: 'G1' })
    clock = new Date('2026-03-01T11:00:00.000Z')
    const res = await server.api<ThingType>('PUT', `/v1.1/things/types/${created.body.id}`, {
      token: alice,
      body: { description: 'second', category: 'sensor' },
    })
    t.equal(res.status, 200)
    t.match(res.body, {
      name: 'Gateway',
      description: 'second',
      model: 'G1',
      category: 'sensor',
      parent_constraint: 'ALLOWED',
      child_constraint: 'NOT_ALLOWED',
      created_at: '2026-03-01T10:00:00.000Z',
      updated_at: '2026-03-01T11:00:00.000Z',
    })
    t.equal(res.headers.get('etag'), '"1"')
    const read = await server.api<ThingType>('GET', `/v1.1/things/types/${created.body.id}`, { token: alice })
    t.strictSame(read.body, res.body, 'the read model shows the update at once')

    const cleared = await server.api<ThingType>('PUT', `/v1.1/things/types/${created.body.id}`, {
      token: alice,
      body: { model: null },
    })
    t.equal(cleared.body.model, null, 'null clears an optional field')
  })

  await t.test('honours If-Match', async (t) => {
    const created = await register({ name: 'Versioned', description: 'v0' })
    const path = `/v1.1/things/types/${created.body.id}`
    const stale = await server.api('PUT', path, { token: alice, body: { description: 'v1' }, headers: { 'if-match': '"3"' } })
    t.equal(stale.status, 412)
    t.match(stale.body, { error: 'precondition_failed' })
    const fresh = await server.api('PUT', path, { token: alice, body: { description: 'v1' }, headers: { 'if-match': '"0"' } })
    t.equal(fresh.status, 200)
    t.equal(fresh.headers.get('etag'), '"1"')
    const garbage = await server.api('PUT', path, { token: alice, body: { description: 'v2' }, headers: { 'if-match': 'yesterday' } })
    t.equal(garbage.status, 400)
    t.match(garbage.body, { details: [{ field: 'If-Match' }] })
  })

  await t.test('keeps built-in types read-only', async (t) => {
    const res = await server.api('PUT', `/v1.1/things/types/${genericThingTypeId}`, { token: alice, body: { name: 'Mine' } })
    t.equal(res.status, 403)
    t.match(res.body, { error: 'thing_type_read_only' })
  })

  await t.test('rejects every bad field, naming it, and writes nothing', async (t) => {
    const before = (await server.api<ThingType[]>('GET', '/v1.1/things/types', { token: alice })).body.length
    const valid = { name: 'n', description: 'd' }
    const cases: [string, unknown, string][] = [
      ['name missing', { description: 'd' }, 'name'],
      ['name empty', { ...valid, name: '' }, 'name'],
      ['name blank', { ...valid, name: '   ' }, 'name'],
      ['name not a string', { ...valid, name: 42 }, 'name'],
      ['name too long', { ...valid, name: 'x'.repeat(256) }, 'name'],
      ['description missing', { name: 'n' }, 'description'],
      ['description null', { ...valid, description: null }, 'description'],
      ['model not a string', { ...valid, model: 5 }, 'model'],
      ['version not a string', { ...valid, version: ['1'] }, 'version'],
      ['manufacturer not a string', { ...valid, manufacturer: {} }, 'manufacturer'],
      ['transport_protocol unknown', { ...valid, transport_protocol: 'carrier-pigeon' }, 'transport_protocol'],
      ['protocol_version not a string', { ...valid, protocol_version: 1.1 }, 'protocol_version'],
      ['category unknown', { ...valid, category: 'toaster' }, 'category'],
      ['subcategory not a string', { ...valid, subcategory: true }, 'subcategory'],
      ['data_type not a string', { ...valid, data_type: 7 }, 'data_type'],
    ]
    for (const [label, body, field] of cases) {
      const res = await register(body)
      t.equal(res.status, 400, `${label}: 400`)
      t.match(res.body, { error: 'validation_failed', details: [{ field }] }, `${label}: names ${field}`)
      t.notMatch(res.text, /at .*\.ts:\d+/, `${label}: no stack trace`)
    }
    const notAnObject = await server.api('POST', '/v1.1/things/types', { token: alice, body: [1, 2] })
    t.equal(notAnObject.status, 400)
    const badUpdate = await server.api('PUT', `/v1.1/things/types/${genericThingTypeId}`, { token: alice, body: { category: 'x' } })
    t.equal(badUpdate.status, 400)
    t.match(badUpdate.body, { details: [{ field: 'category' }] })
    const after = (await server.api<ThingType[]>('GET', '/v1.1/things/types', { token: alice })).body.length
    t.equal(after, before, 'no type was written')
  })

  await t.test('honours account_id like every registry route', async (t) => {
    const ops = server.tokenFor('account-ops', { roles: ['management'] })
    const forCarol = await register({ name: 'Carol type', description: 'made for carol', account_id: 'account-carol' }, ops)
    t.equal(forCarol.status, 200, 'a management token registers a type for another account (body account_id)')
    const carol = server.tokenFor('account-carol')
    const carolsList = await server.api<ThingType[]>('GET', '/v1.1/things/types', { token: carol })
    t.ok(carolsList.body.some((type) => type.id === forCarol.body.id), 'the type belongs to carol')
    const opsList = await server.api<ThingType[]>('GET', '/v1.1/things/types', { token: ops })
    t.notOk(opsList.body.some((type) => type.id === forCarol.body.id), 'not to the management account')

    const managed = await server.api<ThingType[]>('GET', '/v1.1/things/types?account_id=account-carol', { token: ops })
    t.ok(managed.body.some((type) => type.id === forCarol.body.id), 'a management token lists for another account (query account_id)')
    const path = `/v1.1/things/types/${forCarol.body.id}`
    t.equal((await server.api('GET', `${path}?account_id=account-carol`, { token: ops })).status, 200, 'and reads its type')
    t.equal((await server.api('GET', path, { token: ops })).status, 404, 'without account_id it acts for its own account')
    const renamed = await server.api<ThingType>('PUT', `${path}?account_id=account-carol`, { token: ops, body: { name: 'Renamed by ops' } })
    t.equal(renamed.status, 200, 'and updates it')
    t.equal(renamed.body.name, 'Renamed by ops')

    const foreign: [string, string, unknown][] = [
      ['POST', '/v1.1/things/types', { name: 'Sneaky', description: 'd', account_id: 'account-carol' }],
      ['GET', '/v1.1/things/types?account_id=account-carol', undefined],
      ['GET', `${path}?account_id=account-carol`, undefined],
      ['PUT', `${path}?account_id=account-carol`, { name: 'Mine now' }],
      ['PUT', path, { name: 'Mine now', account_id: 'account-carol' }],
    ]
    for (const [method, url, body] of foreign) {
      const res = await server.api(method, url, { token: bob, ...(body === undefined ? {} : { body }) })
      t.equal(res.status, 403, `${method} ${url} naming another account with a plain token: 403`)
      t.match(res.body, { error: 'account_forbidden' })
    }
    const own = await register({ name: 'Own account named', description: 'd', account_id: 'account-bob' }, bob)
    t.equal(own.status, 200, 'a plain token naming its own account is fine')
    const after = await server.api<ThingType>('GET', path, { token: carol })
    t.equal(after.body.name, 'Renamed by ops', 'the refused update changed nothing')
    const carolsAfter = await server.api<ThingType[]>('GET', '/v1.1/things/types', { token: carol })
    t.notOk(carolsAfter.body.some((type) => type.name === 'Sneaky'), 'the refused registration wrote nothing')
  })

  await t.test('records who did what for the auditor', async (t) => {
    const res = await register({ name: 'Audited', description: 'd' }, server.tokenFor('account-alice', { userId: 'user-7' }))
    const events = await server.capsicum.eventStore.readStream(`thingtype-${res.body.id}`)
    t.equal(events.length, 1)
    t.match(events[0], {
      type: 'ThingTypeRegistered',
      metadata: {
        actor: { type: 'user', id: 'user-7' },
        account_id: 'account-alice',
        time: clock.toISOString(),
      },
    })
    t.equal(events[0]!.metadata.correlation_id, res.headers.get('x-request-id'), 'correlation id is the request id')
  })
})
