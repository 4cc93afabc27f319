import t from 'tap'
import { genericThingTypeId } from '../../domain/thing-type/thing-type.ts'
import { startTestServer, type TestServer } from '../helpers/server.ts'

interface Device {
  id: string
  application_id: string | null
  hardware_id: string | null
  device_type_id: string
  codec: string | null
  status: string
  created_at: string
}
interface ErrorBody {
  error: string
  details: { field: string; problem: string }[]
}

const sensorType = '00000000-0000-4000-8000-000000000003'

async function provisionedCount(server: TestServer): Promise<number> {
  return (await server.capsicum.readStore.collection('provisioned_devices').find({})).length
}

t.test('batch provisioning and pairing over HTTP', async (t) => {
  const clock = new Date('2026-05-01T12:00:00.000Z')
  const server = await startTestServer(t, { now: () => clock })
  const maker = server.tokenFor('account-maker')
  const batch = (body: unknown, headers: Record<string, string> = {}, token = maker) =>
    server.api<Device[]>('POST', '/v1.1/things/registry/batch', { token, body, headers })

  await t.test('provisions a batch as the API text shows it (201, PENDING)', async (t) => {
    const res = await batch({ device_type_id: sensorType, count: 2, codec: 'some.codec.name' })
    t.equal(res.status, 201)
    t.equal(res.body.length, 2)
    t.strictSame(res.body[0], {
      id: res.body[0]!.id,
      application_id: null,
      hardware_id: null,
      device_type_id: sensorType,
      codec: 'some.codec.name',
      status: 'PENDING',
      created_at: '2026-05-01T12:00:00.000Z',
    })
    const batchId = res.headers.get('x-batch-id')
    const read = await server.api<Device[]>('GET', `/v1.1/things/registry/batch/${batchId}`, { token: maker })
    t.equal(read.status, 200)
    t.strictSame(read.body, res.body, 'the batch reads back as it was answered')
  })

  await t.test('provisions by hardware ids, with the generic type by default', async (t) => {
    const res = await batch({ hardware_ids: ['IMEI-0001', 'IMEI-0002', 'IMEI-0003'], count: 3 })
    t.equal(res.status, 201)
    t.strictSame(res.body.map((d) => [d.hardware_id, d.device_type_id]), [
      ['IMEI-0001', genericThingTypeId],
      ['IMEI-0002', genericThingTypeId],
      ['IMEI-0003', genericThingTypeId],
    ])
  })

  await t.test('takes an IMEI sent as a JSON number as its digits', async (t) => {
    const res = await batch({ hardware_ids: [359123456789099] })
    t.equal(res.status, 201)
    t.equal(res.body[0]!.hardware_id, '359123456789099')
  })

  await t.test('answers in CSV with response_csv', async (t) => {
    const res = await batch({ hardware_ids: ['CSV-1', 'CSV-2'], response_csv: true })
    t.equal(res.status, 201)
    t.match(res.headers.get('content-type'), /^text\/csv/)
    const lines = res.text.trim().split(/\r\n/)
    t.equal(lines[0], 'id,application_id,hardware_id,device_type_id,codec,status,created_at')
    t.equal(lines.length, 3)
    t.match(lines[1], /^[0-9a-f-]{36},,CSV-1,/)
  })

  await t.test('all or nothing: one bad row rejects the batch, the 400 lists every bad row, nothing is written', async (t) => {
    const before = await server.capsicum.eventStore.headPosition()
    const devicesBefore = await provisionedCount(server)
    const res = await server.api<ErrorBody>('POST', '/v1.1/things/registry/batch', {
      token: maker,
      body: { hardware_ids: ['NEW-1', 'IMEI-0002', 'NEW-2', 'new-1', 'NEW-3', 'IMEI-0003'] },
    })
    t.equal(res.status, 400)
    t.equal(res.body.error, 'batch_rejected')
    t.strictSame(res.body.details.map((d) => d.field), ['hardware_ids[1]', 'hardware_ids[3]', 'hardware_ids[5]'])
    t.equal(await server.capsicum.eventStore.headPosition(), before, 'no event')
    t.equal(await provisionedCount(server), devicesBefore, 'no device')
    const pairNew = await server.api('POST', '/v1.1/things/pair', { token: server.tokenFor('account-x'), body: { hardware_id: 'NEW-1' } })
    t.equal(pairNew.status, 404, 'the good rows of a rejected batch were not provisioned')
  })

  await t.test('validates count, hardware_ids and the type, naming the field', async (t) => {
    const cases: [unknown, string][] = [
      [{}, 'count'],
      [{ count: 0 }, 'count'],
      [{ count: 501 }, 'count'],
      [{ count: 'many' }, 'count'],
      [{ count: 2, hardware_ids: ['A'] }, 'count'],
      [{ hardware_ids: [] }, 'hardware_ids'],
      [{ hardware_ids: Array.from({ length: 501 }, (_, i) => `BIG-${i}`) }, 'hardware_ids'],
      [{ hardware_ids: [''] }, 'hardware_ids.0'],
      [{ count: 1, device_type_id: 'generic' }, 'device_type_id'],
      [{ count: 1, device_type_id: '6f1e2a44-6f8e-4c41-9a59-000000000000' }, 'device_type_id'],
    ]
    const before = await server.capsicum.eventStore.headPosition()
    for (const [body, field] of cases) {
      const res = await server.api<ErrorBody>('POST', '/v1.1/things/registry/batch', { token: maker, body })
      t.equal(res.status, 400, JSON.stringify(body).slice(0, 80))
      t.ok(res.body.details.some((d) => d.field === field), `names ${field}: ${JSON.stringify(res.body.details).slice(0, 200)}`)
    }
    t.equal(await server.capsicum.eventStore.headPosition(), before, 'nothing written')
  })

  await t.test('a batch of exactly 500 is accepted', async (t) => {
    const res = await batch({ hardware_ids: Array.from({ length: 500 }, (_, i) => `FULL-${i}`), count: 500 })
    t.equal(res.status, 201)
    t.equal(res.body.length, 500)
  })

  await t.test('dry_run validates only', async (t) => {
    const before = await server.capsicum.eventStore.headPosition()
    const ok = await server.api<Device[]>('POST', '/v1.1/things/registry/batch?dry_run=true', { token: maker, body: { hardware_ids: ['DRY-1'] } })
    t.equal(ok.status, 200)
    t.equal(ok.body[0]!.hardware_id, 'DRY-1')
    const bad = await batch({ hardware_ids: ['DRY-2', 'IMEI-0001'], dry_run: true })
    t.equal(bad.status, 400)
    t.equal(await server.capsicum.eventStore.headPosition(), before, 'nothing written')
    const real = await batch({ hardware_ids: ['DRY-1'] })
    t.equal(real.status, 201, 'the dry-run id is still free')
  })

  await t.test('Idempotency-Key: a retry returns the first answer and provisions nothing more', async (t) => {
    const body = { hardware_ids: ['IDEM-1', 'IDEM-2'] }
    const first = await batch(body, { 'idempotency-key': 'order-42' })
    t.equal(first.status, 201)
    const before = await server.capsicum.eventStore.headPosition()
    const retry = await batch(body, { 'idempotency-key': 'order-42' })
    t.equal(retry.status, 201)
    t.strictSame(retry.body, first.body, 'the same answer')
    t.equal(retry.headers.get('idempotent-replayed'), 'true')
    t.equal(await server.capsicum.eventStore.headPosition(), before, 'nothing appended')
    const reused = await batch({ hardware_ids: ['IDEM-3'] }, { 'idempotency-key': 'order-42' })
    t.equal(reused.status, 409, 'the key used for another request')
    const otherAccount = await batch({ hardware_ids: ['IDEM-9'] }, { 'idempotency-key': 'order-42' }, server.tokenFor('account-other'))
    t.equal(otherAccount.status, 201, 'keys are per account')
    const badKey = await batch(body, { 'idempotency-key': ' ' })
    t.equal(badKey.status, 400)
  })

  await t.test('pairing: the device becomes an ACTIVE thing of the user\'s account', async (t) => {
    const user = server.tokenFor('account-home', { userId: 'user-homer' })
    const res = await server.api<{ id: string; name: string; status: string; hardware_id: string }>('POST', '/v1.1/things/pair', {
      token: user,
      body: { hardware_id: 'IMEI-0001', name: 'My tracker' },
    })
    t.equal(res.status, 200)
    t.match(res.body, { name: 'My tracker', status: 'ACTIVE', hardware_id: 'IMEI-0001', active: 1, device_type_id: genericThingTypeId })
    const list = await server.api<{ id: string }[]>('GET', '/v1.1/things', { token: user })
    t.strictSame(list.body.map((x) => x.id), [res.body.id])

    const again = await server.api<ErrorBody>('POST', '/v1.1/things/pair', { token: server.tokenFor('account-thief'), body: { hardware_id: 'imei-0001' } })
    t.equal(again.status, 409, 'already paired')
    t.equal(again.body.error, 'already_paired')
    const unknown = await server.api('POST', '/v1.1/things/pair', { token: user, body: { hardware_id: 'NOPE' } })
    t.equal(unknown.status, 404)
    const missing = await server.api<ErrorBody>('POST', '/v1.1/things/pair', { token: user, body: {} })
    t.equal(missing.status, 400)
    t.equal(missing.body.details[0]!.field, 'hardware_id')
    const appToken = server.capsicum.tokens.sign({ sub: 'app', account_id: 'account-home', roles: [], application_id: 'app' })
    const noUser = await server.api('POST', '/v1.1/things/pair', { token: appToken, body: { hardware_id: 'IMEI-0002' } })
    t.equal(noUser.status, 403, 'pairing needs a user token')

    const form = await server.api<{ name: string }>('POST', '/v1.1/things/pair', {
      token: user,
      rawBody: 'hardware_id=IMEI-0002',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    t.equal(form.status, 200, 'a form works too')
    t.equal(form.body.name, 'IMEI-0002', 'the name defaults to the hardware id')

    const batchId = (await server.api<Device[]>('GET', `/v1.1/things/${res.body.id}`, { token: user })).status
    t.equal(batchId, 200)

    const history = await server.api<{ events: { type: string; actor: { id: string }; account_id: string; time: string }[] }>(
      'GET',
      `/v1.1/things/${res.body.id}/history`,
      { token: user },
    )
    t.strictSame(history.body.events.map((e) => e.type), ['DeviceProvisioned', 'ThingPaired'], 'who provisioned it, who paired it')
    t.match(history.body.events[0], { account_id: 'account-maker', actor: { id: 'user-of-account-maker' } })
    t.match(history.body.events[1], { account_id: 'account-home', actor: { id: 'user-homer' }, time: '2026-05-01T12:00:00.000Z' })
  })

  await t.test("a paired device keeps its maker's type, and may join the user's hierarchy", async (t) => {
    const type = await server.api<{ id: string }>('POST', '/v1.1/things/types', {
      token: maker,
      body: { name: 'Maker LoRa node', description: 'the maker\'s own type', category: 'sensor' },
    })
    t.equal((await batch({ device_type_id: type.body.id, hardware_ids: ['LORA-1'] })).status, 201)
    const user = server.tokenFor('account-lora', { userId: 'user-lora' })
    const paired = await server.api<{ id: string; device_type_id: string }>('POST', '/v1.1/things/pair', { token: user, body: { hardware_id: 'LORA-1' } })
    t.equal(paired.body.device_type_id, type.body.id)
    await server.api('POST', '/v1.1/clients', { token: user })
    const gateway = await server.api<{ id: string }>('POST', '/v1.1/things', {
      token: user,
      body: { name: 'Gateway', device_type_id: '00000000-0000-4000-8000-000000000002' },
    })
    const moved = await server.api<{ parent_id: string }>('PUT', `/v1.1/things/${paired.body.id}`, { token: user, body: { parent_id: gateway.body.id } })
    t.equal(moved.status, 200)
    t.equal(moved.body.parent_id, gateway.body.id)
    const under = await server.api('POST', '/v1.1/things', { token: user, body: { name: 'Under a sensor', parent_id: paired.body.id } })
    t.equal(under.status, 400, "the maker's sensor type takes no children")
    const retype = await server.api('PUT', `/v1.1/things/${paired.body.id}`, { token: user, body: { device_type_id: type.body.id, name: 'Renamed' } })
    t.equal(retype.status, 200, 'naming the current type again is fine')
  })

  await t.test('concurrent batches cannot both register a hardware id; concurrent pairings cannot both claim a device', async (t) => {
    const results = await Promise.all(
      Array.from({ length: 4 }, (_, i) => batch({ hardware_ids: [`RACE-${i}`, 'RACE-SHARED'] })),
    )
    t.strictSame(results.map((r) => r.status).sort(), [201, 400, 400, 400], 'exactly one batch wins the shared id')
    const pairs = await Promise.all(
      ['account-p1', 'account-p2', 'account-p3'].map((account) =>
        server.api('POST', '/v1.1/things/pair', { token: server.tokenFor(account), body: { hardware_id: 'RACE-SHARED' } }),
      ),
    )
    t.strictSame(pairs.map((r) => r.status).sort(), [200, 409, 409], 'exactly one user pairs the device')
  })

  await t.test('tenancy: another account gets 404 on the batches of the first', async (t) => {
    const res = await batch({ count: 1 })
    const batchId = res.headers.get('x-batch-id')
    const other = await server.api('GET', `/v1.1/things/registry/batch/${batchId}`, { token: server.tokenFor('account-other') })
    t.equal(other.status, 404)
    t.equal((await server.api('GET', '/v1.1/things/registry/batch/nope', { token: maker })).status, 404)
    const manager = server.tokenFor('account-ops', { roles: ['management'] })
    const managed = await server.api('GET', `/v1.1/things/registry/batch/${batchId}?account_id=account-maker`, { token: manager })
    t.equal(managed.status, 200, 'a management token may name the account')
  })
})
