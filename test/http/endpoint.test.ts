/** The endpoint descriptor: a miswired list fails at start, with a message that says what to change. */
import express, { type RequestHandler } from 'express'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { z } from 'zod'
import { NotFoundError } from '../../domain/errors.ts'
import { endpoint, routerOf, textParam, uuidParam, type Endpoint } from '../../commands/http/endpoint.ts'
import { errorHandler } from '../../commands/http/errors.ts'
import { OpenApiDocument } from '../../commands/http/openapi.ts'
import type { EventStore } from '../../domain/ports/event-store.ts'

const deps = () => ({
  openapi: new OpenApiDocument({ title: 'test', version: '1', description: 'test' }),
  requireBearer: ((_req, _res, next) => next()) as RequestHandler,
  readYourWrites: async () => {},
  eventStore: {} as EventStore,
  now: () => new Date(0),
  newId: () => 'id',
})
const thingId = uuidParam('thing id', (id) => new NotFoundError(`Thing ${id} not found`))
const get = (path: string, params?: Record<string, typeof thingId>): Endpoint =>
  endpoint({
    method: 'get',
    path,
    operationId: path,
    summary: path,
    tags: ['test'],
    auth: 'bearer',
    ...(params ? { params } : {}),
    responses: { 200: { description: 'ok', schema: z.object({}) } },
    handle: async () => ({ body: {} }),
  })

t.test('an endpoint declared after one that would take its requests fails at start', async (t) => {
  t.throws(() => routerOf(deps(), [get('/v1.1/things/{thingId}', { thingId }), get('/v1.1/things/types')]), {
    message: /GET \/v1\.1\/things\/types would be answered by \/v1\.1\/things\/\{thingId\}: declare it first/,
  })
  t.doesNotThrow(() => routerOf(deps(), [get('/v1.1/things/types'), get('/v1.1/things/{thingId}', { thingId })]), 'the literal path first is fine')
})

t.test('path parameters must match their declarations', async (t) => {
  t.throws(() => routerOf(deps(), [get('/v1.1/things/{thingId}')]), { message: /path parameters thingId but declared none/ })
  t.throws(() => routerOf(deps(), [get('/v1.1/things', { thingId })]), { message: /path parameters none but declared thingId/ })
})

t.test('an operation declared twice fails at start', async (t) => {
  t.throws(() => routerOf(deps(), [get('/v1.1/things'), get('/v1.1/things')]), { message: /GET \/v1\.1\/things is declared twice/ })
})

t.test('each endpoint is in the OpenAPI document once, with its parameters', async (t) => {
  const d = deps()
  routerOf(d, [get('/v1.1/things/types'), get('/v1.1/things/{thingId}', { thingId })])
  const paths = (d.openapi.toJSON() as { paths: Record<string, { get: { parameters?: { name: string; in: string }[] } }> }).paths
  t.strictSame(Object.keys(paths), ['/v1.1/things/types', '/v1.1/things/{thingId}'])
  t.ok(paths['/v1.1/things/{thingId}']!.get.parameters!.some((p) => p.name === 'thingId' && p.in === 'path'))
})

/** Serves the endpoints on an ephemeral port until the test ends. */
async function serve(t: Test, endpoints: readonly Endpoint[]): Promise<string> {
  const app = express()
  app.use(express.json())
  app.use(routerOf(deps(), endpoints))
  app.use(errorHandler)
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const post = (spec: Partial<Parameters<typeof endpoint>[0]> & Pick<Parameters<typeof endpoint>[0], 'handle'>): Endpoint =>
  endpoint({ method: 'post', path: '/things/{thingId}', operationId: 'post', summary: 'post', tags: ['test'], auth: 'none', params: { thingId }, responses: { 200: { description: 'ok' } }, ...spec })
const someId = '6f1c1b1e-8a2d-4c57-9d53-0d6b0f5c8a11'

t.test('a reply\'s headers are answered with it', async (t) => {
  const url = await serve(t, [post({ handle: async () => ({ status: 201, body: { ok: true }, revision: 3, headers: { 'Cache-Control': 'no-store', 'X-Batch-Id': 'b1' } }) })])
  const response = await fetch(`${url}/things/${someId}`, { method: 'POST' })
  t.equal(response.status, 201)
  t.equal(response.headers.get('cache-control'), 'no-store')
  t.equal(response.headers.get('x-batch-id'), 'b1')
  t.equal(response.headers.get('etag'), '"3"')
  t.strictSame(await response.json(), { ok: true })
})

t.test('the path parameter is checked first, then the body, then the query', async (t) => {
  const url = await serve(t, [post({ body: z.object({ n: z.number() }), query: z.object({ q: z.enum(['a']).optional() }), handle: async () => ({ body: {} }) })])
  const send = (id: string, body: unknown, query = '') =>
    fetch(`${url}/things/${id}${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  t.equal((await send('nope', { n: 'x' }, '?q=b')).status, 404, 'a bad id is a 404 whatever else is wrong')
  const both = (await (await send(someId, { n: 'x' }, '?q=b')).json()) as { message: string }
  t.match(both.message, /^Invalid request body/, 'a bad body is reported before a bad query')
  const query = (await (await send(someId, { n: 1 }, '?q=b')).json()) as { message: string }
  t.match(query.message, /^Invalid request query/)
  t.equal((await send(someId, { n: 1 }, '?q=a')).status, 200)
})

t.test('the document shows documentedBody and a worded If-Match; the router validates body', async (t) => {
  const d = deps()
  const validated = z.object({ dry_run: z.enum(['true', 'false']).optional() })
  const upload = () =>
    post({
      body: validated,
      documentedBody: z.object({ file: z.string().meta({ format: 'binary' }), dry_run: z.enum(['true', 'false']).optional() }),
      bodyMediaTypes: ['multipart/form-data'],
      ifMatch: { description: 'apply only if the thing is still at this ETag' },
      handle: async () => ({ body: {} }),
    })
  routerOf(d, [upload()])
  const url = await serve(t, [upload()])
  const answer = await fetch(`${url}/things/${someId}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"dry_run":"true"}' })
  t.equal(answer.status, 200, 'validated against body: the file is not in req.body')
  const operation = (d.openapi.toJSON() as { paths: Record<string, { post: { parameters: { name: string; description: string }[]; requestBody: { content: Record<string, { schema: { properties: object } }> }; responses: object } }> }).paths['/things/{thingId}']!.post
  t.strictSame(Object.keys(operation.requestBody.content), ['multipart/form-data'])
  t.ok('file' in operation.requestBody.content['multipart/form-data']!.schema.properties, 'the documented body, with its file')
  t.equal(operation.parameters.find((p) => p.name === 'If-Match')?.description, 'apply only if the thing is still at this ETag')
  t.ok('412' in operation.responses)
})

t.test('a text path parameter is taken as it is, or answered by its own 404, after the parameters before it', async (t) => {
  const channel = textParam('a channel', (value, params) => (value.length > 8 ? new NotFoundError(`Thing ${params.thingId} has no channel ${value}`, 'channel_not_found') : undefined))
  const url = await serve(t, [
    endpoint({
      method: 'get',
      path: '/things/{thingId}/data/{channel}',
      operationId: 'channel',
      summary: 'channel',
      tags: ['test'],
      auth: 'none',
      params: { thingId, channel },
      query: z.object({ q: z.enum(['a']).optional() }),
      responses: { 200: { description: 'ok' } },
      handle: async ({ params }) => ({ body: params }),
    }),
    endpoint({
      method: 'get',
      path: '/clients/{clientId}',
      operationId: 'client',
      summary: 'client',
      tags: ['test'],
      auth: 'none',
      params: { clientId: textParam('any id') },
      responses: { 200: { description: 'ok' } },
      handle: async ({ params }) => ({ body: params }),
    }),
  ])
  t.strictSame(await (await fetch(`${url}/things/${someId}/data/sys%3Acpu`)).json(), { thingId: someId, channel: 'sys:cpu' }, 'decoded, not a UUID')
  t.equal((await fetch(`${url}/things/nope/data/much-too-long?q=b`)).status, 404, 'the UUID before it is checked first')
  const long = await fetch(`${url}/things/${someId}/data/much-too-long?q=b`)
  t.equal(long.status, 404, 'the channel before the query')
  t.match(await long.json(), { error: 'channel_not_found', message: `Thing ${someId} has no channel much-too-long` })
  t.strictSame(await (await fetch(`${url}/clients/not-a-uuid`)).json(), { clientId: 'not-a-uuid' })
})
