/** The endpoint descriptor: a miswired list fails at start, with a message that says what to change. */
import type { RequestHandler } from 'express'
import t from 'tap'
import { z } from 'zod'
import { NotFoundError } from '../../domain/errors.ts'
import { endpoint, routerOf, uuidParam, type Endpoint } from '../../commands/http/endpoint.ts'
import { OpenApiDocument } from '../../commands/http/openapi.ts'
import type { EventStore } from '../../commands/event-store.ts'

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
