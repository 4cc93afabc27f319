import t from 'tap'
import { genericThingTypeId } from '../../domain/thing-type/thing-type.ts'
import { startTestServer } from '../helpers/server.ts'

interface Thing {
  id: string
  name: string
  device_type_id: string
  parent_id: string | null
  hardware_id: string | null
  properties: Record<string, unknown>
  active: number
  status: string
  last_online: number
  children?: Thing[]
}

const gatewayType = '00000000-0000-4000-8000-000000000002'
const sensorType = '00000000-0000-4000-8000-000000000003'

t.test('things over HTTP', async (t) => {
  let clock = new Date('2026-04-01T08:00:00.000Z')
  const server = await startTestServer(t, { now: () => clock })
  const alice = server.tokenFor('account-alice')
  const bob = server.tokenFor('account-bob')
  const create = (body: unknown, token = alice) => server.api<Thing>('POST', '/v1.1/things', { token, body })

  await t.test('refuses to create a thing before POST /v1.1/clients, naming the call', async (t) => {
    const res = await create({ name: 'Too early' })
    t.equal(res.status, 400)
    t.match(res.body, { error: 'mqtt_client_required', details: [{ field: 'POST /v1.1/clients' }] })
    const list = await server.api<Thing[]>('GET', '/v1.1/things', { token: alice })
    t.strictSame(list.body, [], 'nothing was created')
  })

  t.equal((await server.api('POST', '/v1.1/clients', { token: alice })).status, 201)
  t.equal((await server.api('POST', '/v1.1/clients', { token: bob })).status, 201)

  let thing: Thing
  await t.test('creates a thing with the documented fields and defaults (201)', async (t) => {
    const res = await create({ name: 'Kitchen sensor', properties: { room: 'kitchen', floor: 1 } })
    t.equal(res.status, 201)
    t.strictSame(res.body, {
      id: res.body.id,
      name: 'Kitchen sensor',
      device_type_id: genericThingTypeId,
      parent_id: null,
      hardware_id: null,
      properties: { room: 'kitchen', floor: 1 },
      active: 1,
      status: 'ACTIVE',
      last_online: 0,
    })
    t.equal(res.headers.get('etag'), '"0"')
    thing = res.body
    const read = await server.api<Thing>('GET', `/v1.1/things/${thing.id}`, { token: alice })
    t.equal(read.status, 200, 'a GET right after the POST sees it')
    t.strictSame(read.body, { ...thing, children: [] })
  })

  await t.test('accepts the text\'s spellings: status "Active", active "Enable", properties as JSON text in a form', async (t) => {
    const res = await server.api<Thing>('POST', '/v1.1/things', {
      token: alice,
      rawBody: 'name=Form+thing&status=Blocked&active=Disable&properties=%7B%22a%22%3A1%7D',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    t.equal(res.status, 201)
    t.match(res.body, { status: 'BLOCKED', active: 0, properties: { a: 1 } })
  })

  await t.test('refuses bad input with 400 naming each field, and writes nothing', async (t) => {
    const before = await server.capsicum.eventStore.headPosition()
    const cases: [unknown, string][] = [
      [{}, 'name'],
      [{ name: '  ' }, 'name'],
      [{ name: 'x', properties: [1, 2] }, 'properties'],
      [{ name: 'x', properties: '{not json' }, 'properties'],
      [{ name: 'x', properties: 'null' }, 'properties'],
      [{ name: 'x', status: 'SLEEPING' }, 'status'],
      [{ name: 'x', active: 'maybe' }, 'active'],
      [{ name: 'x', device_type_id: 'generic' }, 'device_type_id'],
      [{ name: 'x', device_type_id: '6f1e2a44-6f8e-4c41-9a59-000000000000' }, 'device_type_id'],
      [{ name: 'x', parent_id: 'nope' }, 'parent_id'],
      [{ name: 'x', parent_id: '6f1e2a44-6f8e-4c41-9a59-000000000000' }, 'parent_id'],
    ]
    for (const [body, field] of cases) {
      const res = await create(body)
      t.equal(res.status, 400, JSON.stringify(body))
      t.ok((res.body as unknown as { details: { field: string }[] }).details.some((d) => d.field === field), `names ${field}`)
    }
    t.equal(await server.capsicum.eventStore.headPosition(), before, 'no event was appended')
  })

  await t.test('lists only ACTIVE things of the account', async (t) => {
    const list = await server.api<Thing[]>('GET', '/v1.1/things', { token: alice })
    t.equal(list.status, 200)
    t.strictSame(list.body.map((x) => x.name), ['Kitchen sensor'], 'the BLOCKED thing is not listed')
    const theirs = await server.api<Thing[]>('GET', '/v1.1/things', { token: bob })
    t.strictSame(theirs.body, [])
  })

  await t.test('updates partially', async (t) => {
    clock = new Date('2026-04-01T09:00:00.000Z')
    const res = await server.api<Thing>('PUT', `/v1.1/things/${thing.id}`, { token: alice, body: { name: 'Pantry sensor', status: 'Blocked' } })
    t.equal(res.status, 200)
    t.match(res.body, { name: 'Pantry sensor', status: 'BLOCKED', properties: { room: 'kitchen' }, active: 1, children: [] })
    t.equal(res.headers.get('etag'), '"1"')
    const stale = await server.api('PUT', `/v1.1/things/${thing.id}`, { token: alice, body: { name: 'x' }, headers: { 'if-match': '"0"' } })
    t.equal(stale.status, 412)
    const back = await server.api<Thing>('PUT', `/v1.1/things/${thing.id}`, { token: alice, body: { status: 'ACTIVE' }, headers: { 'if-match': '"1"' } })
    t.equal(back.status, 200)
    const same = await server.api<Thing>('PUT', `/v1.1/things/${thing.id}`, { token: alice, body: { status: 'ACTIVE' } })
    t.equal(same.headers.get('etag'), '"2"', 'a PUT that changes nothing records nothing')
    const bad = await server.api('PUT', `/v1.1/things/${thing.id}`, { token: alice, body: { name: '' } })
    t.equal(bad.status, 400)
  })

  await t.test('the device hierarchy', async (t) => {
    const gateway = (await create({ name: 'Gateway', device_type_id: gatewayType })).body
    const sensor = (await create({ name: 'Sensor', device_type_id: sensorType, parent_id: gateway.id })).body
    t.equal(sensor.parent_id, gateway.id, 'a sensor hangs under a gateway')

    const parent = await server.api<Thing>('GET', `/v1.1/things/${gateway.id}`, { token: alice })
    t.strictSame(parent.body.children?.map((c) => c.id), [sensor.id], 'the parent lists its children')

    const underSensor = await create({ name: 'Under a sensor', parent_id: sensor.id })
    t.equal(underSensor.status, 400, "a sensor's type takes no children")
    t.match(underSensor.body, { error: 'hierarchy_violation', details: [{ field: 'parent_id' }] })

    const gatewayUnderGateway = await create({ name: 'Nested gateway', device_type_id: gatewayType, parent_id: gateway.id })
    t.equal(gatewayUnderGateway.status, 400, "a gateway's type takes no parent")
    t.match(gatewayUnderGateway.body, { details: [{ field: 'device_type_id' }] })

    const bobs = (await create({ name: 'Bob gateway', device_type_id: gatewayType }, bob)).body
    const crossAccount = await create({ name: 'Sneaky', parent_id: bobs.id })
    t.equal(crossAccount.status, 400, "another account's thing cannot be a parent")
    t.match(crossAccount.body, { details: [{ field: 'parent_id', problem: 'must be a thing of this account' }] })

    // generic things take both a parent and children: a chain a <- b <- c
    const a = (await create({ name: 'a' })).body
    const b = (await create({ name: 'b', parent_id: a.id })).body
    const c = (await create({ name: 'c', parent_id: b.id })).body
    const cycle = await server.api('PUT', `/v1.1/things/${a.id}`, { token: alice, body: { parent_id: c.id } })
    t.equal(cycle.status, 400, 'no cycles')
    t.match(cycle.body, { details: [{ field: 'parent_id', problem: /cycle/ }] })
    const self = await server.api('PUT', `/v1.1/things/${a.id}`, { token: alice, body: { parent_id: a.id } })
    t.equal(self.status, 400, 'not its own parent')

    const toSensor = await server.api('PUT', `/v1.1/things/${a.id}`, { token: alice, body: { device_type_id: sensorType } })
    t.equal(toSensor.status, 400, 'a thing with children keeps a type that takes children')

    const detach = await server.api<Thing>('PUT', `/v1.1/things/${c.id}`, { token: alice, body: { parent_id: null } })
    t.equal(detach.status, 200)
    t.equal(detach.body.parent_id, null)
    const bChildren = await server.api<Thing>('GET', `/v1.1/things/${b.id}`, { token: alice })
    t.strictSame(bChildren.body.children, [])
  })

  await t.test('DELETE deactivates, keeps the thing and its history', async (t) => {
    const doomed = (await create({ name: 'Doomed' })).body
    const res = await server.api<Thing>('DELETE', `/v1.1/things/${doomed.id}`, { token: alice })
    t.equal(res.status, 200)
    t.match(res.body, { status: 'DEACTIVATED', active: 0 })
    const list = await server.api<Thing[]>('GET', '/v1.1/things', { token: alice })
    t.notOk(list.body.some((x) => x.id === doomed.id), 'no longer listed')
    const read = await server.api<Thing>('GET', `/v1.1/things/${doomed.id}`, { token: alice })
    t.equal(read.status, 200, 'still readable')
    t.equal(read.body.status, 'DEACTIVATED')
    const again = await server.api<Thing>('DELETE', `/v1.1/things/${doomed.id}`, { token: alice })
    t.equal(again.status, 200, 'deleting again is harmless')
    const history = await server.api<{ events: { type: string }[] }>('GET', `/v1.1/things/${doomed.id}/history`, { token: alice })
    t.strictSame(history.body.events.map((e) => e.type), ['ThingCreated', 'ThingDeactivated'])
    const command = await server.api('POST', `/v1.1/things/${doomed.id}/cmd`, { token: alice, body: { value: 1, channel: 3 } })
    t.equal(command.status, 409, 'a deactivated thing takes no commands')
  })

  await t.test('sends commands as the API text shows, each with a fresh seq', async (t) => {
    const res = await server.api('POST', `/v1.1/things/${thing.id}/cmd`, { token: alice, body: { value: 0, channel: '3' } })
    t.equal(res.status, 200)
    t.strictSame(res.body, { success: true })
    const second = await server.api('POST', `/v1.1/things/${thing.id}/cmd`, { token: alice, body: { value: 'on', channel: 4 } })
    t.equal(second.status, 200)
    const list = await server.api<{ seq: number; channel: number; value: unknown; state: string }[]>('GET', `/v1.1/things/${thing.id}/commands`, { token: alice })
    t.equal(list.status, 200)
    t.match(list.body, [
      { seq: 2, channel: 4, value: 'on', state: 'requested' },
      { seq: 1, channel: 3, value: 0, state: 'requested' },
    ])
    const events = await server.capsicum.eventStore.readStream(`thing-${thing.id}`)
    t.strictSame(events.filter((e) => e.type === 'CommandRequested').map((e) => (e.data as { seq: number }).seq), [1, 2])
  })

  await t.test('refuses bad commands with 400 naming the field', async (t) => {
    const cases: [unknown, string][] = [
      [{ channel: 3 }, 'value'],
      [{ value: 1 }, 'channel'],
      [{ value: 1, channel: -1 }, 'channel'],
      [{ value: 1, channel: 'three' }, 'channel'],
      [{ value: 1, channel: 1.5 }, 'channel'],
      [{ value: { nested: true }, channel: 1 }, 'value'],
    ]
    for (const [body, field] of cases) {
      const res = await server.api<{ details: { field: string }[] }>('POST', `/v1.1/things/${thing.id}/cmd`, { token: alice, body })
      t.equal(res.status, 400, JSON.stringify(body))
      t.ok(res.body.details.some((d) => d.field === field), `names ${field}`)
    }
  })

  await t.test('tenancy: another account gets 404 on every thing and command of the first', async (t) => {
    const id = thing.id
    const checks: [string, string, unknown?][] = [
      ['GET', `/v1.1/things/${id}`],
      ['GET', `/v1.1/things/${id}?as_of=2026-04-01T08:30:00Z`],
      ['PUT', `/v1.1/things/${id}`, { name: 'Mine now' }],
      ['DELETE', `/v1.1/things/${id}`],
      ['POST', `/v1.1/things/${id}/cmd`, { value: 1, channel: 1 }],
      ['GET', `/v1.1/things/${id}/commands`],
      ['GET', `/v1.1/things/${id}/history`],
    ]
    for (const [method, path, body] of checks) {
      const res = await server.api(method, path, { token: bob, ...(body === undefined ? {} : { body }) })
      t.equal(res.status, 404, `${method} ${path}`)
    }
    const mine = await server.api<Thing>('GET', `/v1.1/things/${id}`, { token: alice })
    t.equal(mine.body.name, 'Pantry sensor', 'nothing changed')
    t.equal(mine.body.status, 'ACTIVE')
    const unknown = await server.api('GET', '/v1.1/things/6f1e2a44-6f8e-4c41-9a59-000000000000', { token: alice })
    t.equal(unknown.status, 404)
    const malformed = await server.api('GET', '/v1.1/things/not-a-uuid', { token: alice })
    t.equal(malformed.status, 404)
  })

  await t.test('as_of returns the thing as it was at that moment', async (t) => {
    const path = `/v1.1/things/${thing.id}`
    const at = async (asOf: string) => server.api<Thing>('GET', `${path}?as_of=${encodeURIComponent(asOf)}`, { token: alice })
    const created = await at('2026-04-01T08:00:00.000Z')
    t.equal(created.status, 200)
    t.match(created.body, { name: 'Kitchen sensor', status: 'ACTIVE' }, 'at creation')
    const between = await at('2026-04-01T08:59:59.999Z')
    t.equal(between.body.name, 'Kitchen sensor', 'just before the update')
    const after = await at('2026-04-01T09:00:00+00:00')
    t.equal(after.body.name, 'Pantry sensor', 'at the update')
    const before = await at('2026-04-01T07:59:59.999Z')
    t.equal(before.status, 404, 'before it existed')
    const bad = await server.api('GET', `${path}?as_of=yesterday`, { token: alice })
    t.equal(bad.status, 400)
    t.match(bad.body, { details: [{ field: 'as_of' }] })
  })

  await t.test('history pages, filters by type and time, and names the actor', async (t) => {
    const path = `/v1.1/things/${thing.id}/history`
    type History = { events: { type: string; time: string; actor: { type: string; id: string }; account_id: string; revision: number }[]; next_cursor: string | null }
    const all = await server.api<History>('GET', path, { token: alice })
    t.equal(all.status, 200)
    t.strictSame(all.body.events.map((e) => e.type), ['ThingCreated', 'ThingUpdated', 'ThingUpdated', 'CommandRequested', 'CommandRequested'])
    t.match(all.body.events[0], { actor: { type: 'user', id: 'user-of-account-alice' }, account_id: 'account-alice', time: '2026-04-01T08:00:00.000Z' })
    t.equal(all.body.next_cursor, null)

    const page1 = await server.api<History>('GET', `${path}?limit=2`, { token: alice })
    t.equal(page1.body.events.length, 2)
    t.type(page1.body.next_cursor, 'string')
    const page2 = await server.api<History>('GET', `${path}?limit=2&cursor=${page1.body.next_cursor}`, { token: alice })
    const page3 = await server.api<History>('GET', `${path}?limit=2&cursor=${page2.body.next_cursor}`, { token: alice })
    t.strictSame([...page1.body.events, ...page2.body.events, ...page3.body.events], all.body.events, 'the pages add up to the whole')
    t.equal(page3.body.next_cursor, null)

    const commands = await server.api<History>('GET', `${path}?type=CommandRequested`, { token: alice })
    t.equal(commands.body.events.length, 2)
    const window = await server.api<History>('GET', `${path}?from=2026-04-01T08:30:00Z&to=2026-04-01T09:00:00Z&type=ThingUpdated,ThingCreated`, { token: alice })
    t.strictSame(window.body.events.map((e) => e.revision), [1, 2])
    const bad = await server.api('GET', `${path}?limit=0`, { token: alice })
    t.equal(bad.status, 400)
    const badCursor = await server.api('GET', `${path}?cursor=abc`, { token: alice })
    t.equal(badCursor.status, 400)
  })
})
