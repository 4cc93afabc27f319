/**
 * CSV provisioning: the documented behaviour, then malformed files (quotes, BOM, CRLF,
 * blank lines, huge fields, too many rows, binary, random bytes). Whatever the file, the
 * answer is 201 or a JSON 4xx naming the file or a row, and a refused file writes nothing.
 */
import t from 'tap'
import { startTestServer, type TestServer } from '../helpers/server.ts'

interface Device {
  id: string
  hardware_id: string | null
  device_type_id: string
  codec: string | null
  status: string
}
interface ErrorBody {
  error: string
  details: { field: string; problem: string }[]
}

const sensorType = '00000000-0000-4000-8000-000000000003'
const genericType = '00000000-0000-4000-8000-000000000001'

function upload(server: TestServer, token: string, content: string | Uint8Array, fields: Record<string, string> = {}, query = '', fieldName = 'file') {
  const form = new FormData()
  for (const [name, value] of Object.entries(fields)) form.append(name, value)
  form.append(fieldName, new Blob([content]), 'devices.csv')
  return server.api<Device[]>('POST', `/v1.1/things/registry/csv${query}`, { token, form })
}

/** A small deterministic generator, so a failing fuzz case can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0
    return state / 2 ** 32
  }
}

t.test('CSV provisioning over HTTP', async (t) => {
  const server = await startTestServer(t, { now: () => new Date('2026-05-02T00:00:00.000Z') })
  const maker = server.tokenFor('account-maker')
  const head = () => server.capsicum.eventStore.headPosition()

  await t.test('provisions several types, columns in any order, unknown columns ignored', async (t) => {
    const csv = `codec,note,device_type_id,hardware_id\nlora.v1,first,${sensorType},DEV-1\n,second,,DEV-2\n`
    const res = await upload(server, maker, csv)
    t.equal(res.status, 201)
    t.match(res.body, [
      { hardware_id: 'DEV-1', device_type_id: sensorType, codec: 'lora.v1', status: 'PENDING' },
      { hardware_id: 'DEV-2', device_type_id: genericType, codec: null, status: 'PENDING' },
    ])
  })

  await t.test('accepts a BOM, CRLF, quotes and blank lines', async (t) => {
    const csv = `\uFEFFhardware_id,codec\r\n\r\n"DEV-3","say ""hi"", then go"\r\n\r\nDEV-4,\r\n`
    const res = await upload(server, maker, csv)
    t.equal(res.status, 201)
    t.match(res.body, [{ hardware_id: 'DEV-3', codec: 'say "hi", then go' }, { hardware_id: 'DEV-4', codec: null }])
  })

  await t.test('answers in CSV with the response_csv form variable', async (t) => {
    const res = await upload(server, maker, 'hardware_id\nDEV-5\n', { response_csv: 'true' })
    t.equal(res.status, 201)
    t.match(res.headers.get('content-type'), /^text\/csv/)
    t.match(res.text, /^id,application_id,hardware_id,device_type_id,codec,status,created_at\r\n[0-9a-f-]{36},,DEV-5,/)
  })

  await t.test('all or nothing, with row numbers (the line in the file) in the errors', async (t) => {
    const before = await head()
    const csv = `hardware_id,device_type_id\nNEW-1,\n\nDEV-1,\nNEW-2,not-a-uuid\nNEW-1,\n,${sensorType}\n`
    const res = await upload(server, maker, csv)
    t.equal(res.status, 400)
    const body = res.body as unknown as ErrorBody
    t.strictSame(
      body.details.map((d) => d.field),
      ['row 5.device_type_id', 'row 7.hardware_id'],
      'the blank hardware id and the bad type come from parsing; the rest from the batch rules',
    )
    t.equal(await head(), before, 'nothing written')
    const rules = await upload(server, maker, `hardware_id\nNEW-1\n\nDEV-1\nNEW-1\n`)
    t.strictSame((rules.body as unknown as ErrorBody).details.map((d) => d.field), ['row 4.hardware_id', 'row 5.hardware_id'])
    t.equal(await head(), before, 'nothing written')
  })

  await t.test('dry_run and Idempotency-Key work as for JSON batches', async (t) => {
    const before = await head()
    const dry = await upload(server, maker, 'hardware_id\nCSV-DRY\n', { dry_run: 'true' })
    t.equal(dry.status, 200)
    t.equal(await head(), before)
    const form = () => {
      const f = new FormData()
      f.append('file', new Blob(['hardware_id\nCSV-IDEM\n']), 'a.csv')
      return f
    }
    const first = await server.api<Device[]>('POST', '/v1.1/things/registry/csv', { token: maker, form: form(), headers: { 'idempotency-key': 'csv-1' } })
    const retry = await server.api<Device[]>('POST', '/v1.1/things/registry/csv', { token: maker, form: form(), headers: { 'idempotency-key': 'csv-1' } })
    t.equal(first.status, 201)
    t.strictSame(retry.body, first.body)
  })

  await t.test('500 rows are accepted, 501 are refused', async (t) => {
    const rows = (n: number, prefix: string) => ['hardware_id', ...Array.from({ length: n }, (_, i) => `${prefix}-${i}`)].join('\n')
    const ok = await upload(server, maker, rows(500, 'FIVE'))
    t.equal(ok.status, 201)
    t.equal(ok.body.length, 500)
    const before = await head()
    const tooMany = await upload(server, maker, rows(501, 'SIX'))
    t.equal(tooMany.status, 400)
    t.match(tooMany.body, { error: 'batch_too_large', details: [{ field: 'file' }] })
    t.equal(await head(), before)
  })

  await t.test('refuses malformed files with a JSON 4xx naming the file or the row', async (t) => {
    const before = await head()
    const cases: [string, string | Uint8Array, number, string][] = [
      ['empty file', '', 400, 'file'],
      ['only blank lines', '\n\r\n\n', 400, 'file'],
      ['no header', 'DEV-100\nDEV-101\n', 400, 'file'],
      ['header only', 'hardware_id\n', 400, 'file'],
      ['duplicate column', 'hardware_id,hardware_id\nA,B\n', 400, 'file'],
      ['unclosed quote', 'hardware_id\n"DEV-102\nDEV-103\n', 400, 'file'],
      ['quote inside a field', 'hardware_id\nDEV"104\n', 400, 'file'],
      ['ragged rows', 'hardware_id,codec\nDEV-105\nDEV-106,a,b\n', 400, 'file'],
      ['huge field', `hardware_id\n${'x'.repeat(100_000)}\n`, 400, 'file'],
      ['long hardware id', `hardware_id\n${'y'.repeat(200)}\n`, 400, 'row 2.hardware_id'],
      ['control characters', 'hardware_id\nDEV\u0007107\n', 400, 'row 2.hardware_id'],
      ['NUL bytes (binary)', new Uint8Array([0x68, 0x61, 0x00, 0x01, 0x02, 0xff]), 400, 'file'],
      ['invalid UTF-8', new Uint8Array([0x68, 0x0a, 0xc3, 0x28, 0x0a]), 400, 'file'],
      ['a PNG', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]), 400, 'file'],
      ['larger than the limit', `hardware_id\n${'DEV-LONG-ROW\n'.repeat(30_000)}`, 413, ''],
    ]
    for (const [what, content, status, field] of cases) {
      const res = await upload(server, maker, content)
      t.equal(res.status, status, what)
      t.match(res.headers.get('content-type'), /json/, `${what}: JSON`)
      if (field) t.ok((res.body as unknown as ErrorBody).details?.some((d) => d.field === field), `${what}: names ${field}: ${res.text.slice(0, 200)}`)
      t.notMatch(res.text, /at .*\.ts:\d+/, `${what}: no stack trace`)
    }
    t.equal(await head(), before, 'nothing written')
  })

  await t.test('refuses a request without the file, or with the file under another name', async (t) => {
    const noFile = await server.api<ErrorBody>('POST', '/v1.1/things/registry/csv', { token: maker, body: { hardware_id: 'x' } })
    t.equal(noFile.status, 400)
    t.equal(noFile.body.details[0]!.field, 'file')
    const wrongName = await upload(server, maker, 'hardware_id\nDEV-200\n', {}, '', 'upload')
    t.equal(wrongName.status, 400)
    const twoFiles = new FormData()
    twoFiles.append('file', new Blob(['hardware_id\nA\n']), 'a.csv')
    twoFiles.append('file', new Blob(['hardware_id\nB\n']), 'b.csv')
    const two = await server.api('POST', '/v1.1/things/registry/csv', { token: maker, form: twoFiles })
    t.equal(two.status, 400)
    const broken = await server.api('POST', '/v1.1/things/registry/csv', {
      token: maker,
      rawBody: '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nhardware_id\nA',
      headers: { 'content-type': 'multipart/form-data; boundary=xyz' },
    })
    t.equal(broken.status, 400, 'a truncated multipart body')
  })

  await t.test('fuzz: random files never crash the server or write half a batch', async (t) => {
    const next = random(20260502)
    const alphabet = ['a', 'B', '1', ',', '"', '\n', '\r\n', ' ', '\uFEFF', ';', '\t', 'hardware_id', 'device_type_id', 'codec', '\u00e9', '\\']
    for (let i = 0; i < 60; i++) {
      const length = Math.floor(next() * 200)
      let text = next() < 0.5 ? 'hardware_id,codec\n' : ''
      for (let j = 0; j < length; j++) text += alphabet[Math.floor(next() * alphabet.length)]
      const bytes = next() < 0.2 ? new Uint8Array(Array.from({ length: 64 }, () => Math.floor(next() * 256))) : text
      const before = await head()
      const res = await upload(server, maker, bytes)
      t.ok(res.status === 201 || res.status === 400 || res.status === 409, `case ${i}: ${res.status}`)
      if (res.status !== 201) t.equal(await head(), before, `case ${i}: nothing written`)
      if (res.status === 400) t.ok((res.body as unknown as ErrorBody).details.length > 0, `case ${i}: says why`)
    }
    const health = await fetch(`${server.url}/healthz`)
    t.equal(health.status, 200, 'the server is still up')
  })

  await t.test('tenancy: another account cannot see the batch', async (t) => {
    const res = await upload(server, maker, 'hardware_id\nDEV-300\n')
    const other = await server.api('GET', `/v1.1/things/registry/batch/${res.headers.get('x-batch-id')}`, { token: server.tokenFor('account-other') })
    t.equal(other.status, 404)
  })
})
