/** The API text's examples for the registry, sent as printed (with straight quotes). */
import t from 'tap'
import { startTestServer } from '../helpers/server.ts'

const thingKeys = ['id', 'name', 'device_type_id', 'parent_id', 'hardware_id', 'properties', 'active', 'status', 'last_online']
const keysOf = (value: unknown): string[] => Object.keys(value as object).sort()

t.test("the API text's registry examples work as printed", async (t) => {
  const server = await startTestServer(t)
  const token = server.tokenFor('account-example', { userId: 'user-example' })
  const json = (method: string, path: string, raw: string) =>
    server.api<Record<string, unknown>>(method, path, {
      token,
      rawBody: raw,
      headers: { 'content-type': 'application/json', 'x-api-version': '1.0' },
    })

  const client = await server.api('POST', '/v1.1/clients', { token, headers: { 'x-api-version': '1.0' } })
  t.equal(client.status, 201)
  t.strictSame(keysOf(client.body), ['clear_secret', 'id'], 'Create a thing mqtt client credentials')

  const created = await json('POST', '/v1.1/things', '{\n  "name": "string",\n  "properties": {},\n  "active": 0,\n  "status": "Active"\n}')
  t.equal(created.status, 201)
  t.strictSame(keysOf(created.body), [...thingKeys].sort(), 'Create: the documented response fields')
  t.match(created.body, { name: 'string', properties: {}, active: 0, status: 'ACTIVE', last_online: 0 })
  const id = String(created.body.id)

  const list = await server.api<unknown[]>('GET', '/v1.1/things', { token })
  t.equal(list.status, 200)
  t.strictSame(keysOf(list.body[0]), [...thingKeys].sort(), 'List Things')

  const one = await server.api('GET', `/v1.1/things/${id}`, { token })
  t.strictSame(keysOf(one.body), [...thingKeys, 'children'].sort(), 'Get single thing, with children')

  const updated = await json('PUT', `/v1.1/things/${id}`, '{\n  "name": "string 2",\n  "status": "Active"\n}')
  t.equal(updated.status, 200)
  t.strictSame(keysOf(updated.body), [...thingKeys, 'children'].sort(), 'Update thing')

  const command = await json('POST', `/v1.1/things/${id}/cmd`, '{\n  "value": 0,\n  "channel": "3"\n}')
  t.equal(command.status, 200)
  t.strictSame(command.body, { success: true }, 'Sending a command to a mqtt channel')

  const batch = await json(
    'POST',
    '/v1.1/things/registry/batch',
    '{\n  "device_type_id": "00000000-0000-4000-8000-000000000001",\n  "hardware_ids": ["359123456789012", "359123456789013"],\n  "count": 2,\n  "codec": "some.codec.name",\n  "response_csv": false\n}',
  )
  t.equal(batch.status, 201)
  const rows = batch.body as unknown as Record<string, unknown>[]
  t.strictSame(keysOf(rows[0]), ['application_id', 'codec', 'created_at', 'device_type_id', 'hardware_id', 'id', 'status'], 'Batch provision: the documented fields')
  t.match(rows[0], { codec: 'some.codec.name', status: 'PENDING' })

  const form = new FormData()
  form.append('response_csv', 'false')
  form.append('file', new Blob(['hardware_id,device_type_id,codec\n70B3D57ED0000001,00000000-0000-4000-8000-000000000003,lora.codec\n']), 'devices.csv')
  const csv = await server.api<unknown[]>('POST', '/v1.1/things/registry/csv', { token, form })
  t.equal(csv.status, 201, 'Batch provision multiple types: the documented columns and form variable')

  const paired = await server.api('POST', '/v1.1/things/pair', {
    token,
    rawBody: 'hardware_id=359123456789012&name=My+device',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  })
  t.equal(paired.status, 200, 'Pair a thing that was provisioned (form variables)')
  t.match(paired.body, { name: 'My device', hardware_id: '359123456789012', status: 'ACTIVE' })

  const removed = await server.api('DELETE', `/v1.1/things/${id}`, { token })
  t.equal(removed.status, 200)
  t.match(removed.body, { status: 'DEACTIVATED' }, 'Remove thing: the status is set to DEACTIVATED')
})
