import { createPublicKey } from 'node:crypto'
import jwt from 'jsonwebtoken'
import { pino } from 'pino'
import t from 'tap'
import { startTestServer } from '../helpers/server.ts'

t.test('the HTTP shell', async (t) => {
  const server = await startTestServer(t, { env: { BODY_LIMIT: '2kb' } })
  const token = server.tokenFor('account-1')

  await t.test('health and readiness', async (t) => {
    const health = await fetch(`${server.url}/healthz`)
    t.equal(health.status, 200)
    t.strictSame(await health.json(), { status: 'ok' })
    const ready = await fetch(`${server.url}/readyz`)
    t.equal(ready.status, 200)
    t.match(await ready.json(), {
      status: 'ready',
      checks: { eventStore: 'ok', readStore: 'ok', telemetryStream: 'ok', projections: 'ok' },
    })
  })

  await t.test('X-API-Version: absent or 1.0 is served, anything else is a 400 naming 1.0', async (t) => {
    t.equal((await server.api('GET', '/v1.1/things/types', { token })).status, 200)
    t.equal((await server.api('GET', '/v1.1/things/types', { token, headers: { 'x-api-version': '1.0' } })).status, 200)
    const other = await server.api<{ error: string; message: string; details: { field: string }[] }>('GET', '/v1.1/things/types', {
      token,
      headers: { 'x-api-version': '2.0' },
    })
    t.equal(other.status, 400)
    t.equal(other.body.error, 'unsupported_api_version')
    t.match(other.body.message, /1\.0/)
    t.equal(other.body.details[0]?.field, 'X-API-Version')
  })

  await t.test('unknown routes get a JSON 404', async (t) => {
    const res = await fetch(`${server.url}/v1.1/nothing-here`, { headers: { authorization: `Bearer ${token}` } })
    t.equal(res.status, 404)
    t.match(res.headers.get('content-type'), /application\/json/)
    t.match(await res.json(), { error: 'route_not_found', message: /GET \/v1\.1\/nothing-here/, details: [] })
  })

  await t.test('malformed JSON is a 400 that says so, without a stack trace', async (t) => {
    const res = await server.api<{ error: string }>('POST', '/v1.1/things/types', {
      token,
      rawBody: '{"name": "broken',
      headers: { 'content-type': 'application/json' },
    })
    t.equal(res.status, 400)
    t.match(res.body, { error: 'malformed_body', details: [{ field: 'body' }] })
    t.notMatch(res.text, /SyntaxError|node_modules/)
  })

  await t.test('typographic quotes (as in the API text\'s examples) are a 400 that says so and where', async (t) => {
    const res = await server.api<{ error: string; message: string; details: { field: string; problem: string }[] }>('POST', '/v1.1/things/types', {
      token,
      rawBody: '{\n  \u201Cname\u201D: \u201CGreenhouse\u201D\n}',
      headers: { 'content-type': 'application/json' },
    })
    t.equal(res.status, 400)
    t.equal(res.body.error, 'malformed_body')
    t.match(res.body.message, /typographic quote \(\u201C\) at line 2, column 3/)
    t.match(res.body.details, [{ field: 'body', problem: /straight quotes/ }])
    const broken = await server.api<{ message: string }>('POST', '/v1.1/things/types', { token, rawBody: '{"name": "a",\n }', headers: { 'content-type': 'application/json' } })
    t.match(broken.body.message, /not valid JSON at line 2, column 2/, 'other JSON faults say where too')
  })

  await t.test('a form with more than 1,000 fields is a 413 naming the limit', async (t) => {
    const res = await server.api<{ error: string; message: string; details: { field: string; problem: string }[] }>('POST', '/v1.1/things/types', {
      token,
      rawBody: 'a&'.repeat(1001), // 1,001 fields within the 2 kB limit
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    t.equal(res.status, 413)
    t.match(res.body, { error: 'too_many_fields', message: /more than 1000 fields/, details: [{ field: 'body', problem: /at most 1000 fields/ }] })
  })

  await t.test('a body over BODY_LIMIT is a 413 and writes nothing', async (t) => {
    const before = (await server.api<unknown[]>('GET', '/v1.1/things/types', { token })).body.length
    const res = await server.api('POST', '/v1.1/things/types', {
      token,
      body: { name: 'big', description: 'x'.repeat(4096) },
    })
    t.equal(res.status, 413)
    t.match(res.body, { error: 'payload_too_large' })
    t.equal((await server.api<unknown[]>('GET', '/v1.1/things/types', { token })).body.length, before)
  })

  await t.test('every response carries a request id, and a sane incoming one is kept', async (t) => {
    const generated = await fetch(`${server.url}/healthz`)
    t.match(generated.headers.get('x-request-id'), /^[0-9a-f-]{36}$/)
    const kept = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'trace-abc.123' } })
    t.equal(kept.headers.get('x-request-id'), 'trace-abc.123')
    const replaced = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'bad id with spaces' } })
    t.not(replaced.headers.get('x-request-id'), 'bad id with spaces')
  })

  await t.test('the JWKS verifies the tokens we issue', async (t) => {
    const res = await fetch(`${server.url}/.well-known/jwks.json`)
    t.equal(res.status, 200)
    const { keys } = (await res.json()) as { keys: { kid: string; alg: string; use: string; kty: string; d?: string }[] }
    t.equal(keys.length, 1)
    const [key] = keys
    t.match(key, { kty: 'RSA', alg: 'RS256', use: 'sig' })
    t.notOk(key!.d, 'no private part is published')
    const decoded = jwt.decode(token, { complete: true })
    t.equal(decoded?.header.kid, key!.kid)
    const publicKey = createPublicKey({ key: key as never, format: 'jwk' })
    t.doesNotThrow(() => jwt.verify(token, publicKey, { algorithms: ['RS256'] }))
  })

  await t.test('OpenAPI 3.1 document and interactive docs', async (t) => {
    const res = await fetch(`${server.url}/openapi.json`)
    t.equal(res.status, 200)
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> }
    t.equal(doc.openapi, '3.1.0')
    t.ok(doc.paths['/v1.1/things/types']?.post, 'POST /v1.1/things/types is documented')
    t.ok(doc.paths['/v1.1/things/types/{typeId}']?.put, 'PUT /v1.1/things/types/{typeId} is documented')
    const docs = await fetch(`${server.url}/docs/`)
    t.equal(docs.status, 200)
    const html = await docs.text()
    t.match(html, /swagger-ui/)
    const init = await fetch(`${server.url}/docs/swagger-ui-init.js`)
    t.match(await init.text(), /\/openapi\.json/, 'the docs load our document')
  })
})

t.test('readiness fails while shutting down, and requests in flight finish', async (t) => {
  const server = await startTestServer(t)
  const token = server.tokenFor('account-1')
  const inFlight = 20
  let received = 0
  const allReceived = new Promise<void>((resolve) => {
    server.capsicum.server.on('request', () => {
      if (++received === inFlight) resolve()
    })
  })
  const writes = Array.from({ length: inFlight }, (_, i) =>
    fetch(`${server.url}/v1.1/things/types`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', connection: 'close' },
      body: JSON.stringify({ name: `in flight ${i}`, description: 'd' }),
    }),
  )
  await allReceived
  const closed = server.close()
  const statuses = await Promise.all(writes.map(async (w) => (await w).status))
  await closed
  t.strictSame(statuses, Array(inFlight).fill(200), 'every request already received was answered')

  const again = await startTestServer(t, { dataDir: server.dataDir })
  const list = await again.api<{ name: string }[]>('GET', '/v1.1/things/types', { token })
  t.equal(list.body.filter((type) => type.name.startsWith('in flight')).length, inFlight, 'and every write is there after a restart')
})

t.test('the request log: a line per answer at the level its status deserves, with the request id and no secret of the URL', async (t) => {
  const lines: { level: number; msg: string; req?: { id: string; method: string; url: string }; res?: { statusCode: number }; responseTime?: number }[] = []
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) })
  const server = await startTestServer(t, { logger })
  const completed = (id: string) => lines.find((line) => line.msg === 'request completed' && line.req?.id === id)

  await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'log-ok' } })
  await fetch(`${server.url}/reset-password?token=S3CRET-TOKEN&x=1`, { headers: { 'x-request-id': 'log-secret' } })
  await fetch(`${server.url}/v1.1/nothing-here`, { headers: { 'x-request-id': 'log-404' } })
  // (each line is written as its answer ends, before the client has it)

  t.match(completed('log-ok'), { level: 20, req: { method: 'GET', url: '/healthz' }, res: { statusCode: 200 }, responseTime: Number }, '2xx at debug')
  t.match(completed('log-404'), { level: 30, res: { statusCode: 404 } }, '4xx at info')
  t.equal(completed('log-secret')?.req?.url, '/reset-password?token=[redacted]&x=1', 'a token in the URL is masked')
  t.notOk(lines.some((line) => JSON.stringify(line).includes('S3CRET-TOKEN')), 'the token is in no line')
})
