/** The thing-type endpoints of the platform API. */
import { Router, type Request } from 'express'
import { z } from 'zod'
import { NotFoundError } from '../../domain/errors.ts'
import {
  thingTypeViewOf,
  thingTypesVisibleTo,
  thingTypeVisibleTo,
  toThingTypeView,
} from '../../projections/thing-types.ts'
import { commandContextOf, uuidParamOf } from '../http/requests.ts'
import { ifMatchRevision, setRevisionTag } from '../http/etag.ts'
import { accountOf } from '../http/tenancy.ts'
import { parseInput } from '../http/validate.ts'
import type { RouteDeps } from '../route-deps.ts'
import { registerThingType } from './register-thing-type.ts'
import { registerThingTypeBody, thingTypeResponse, updateThingTypeBody } from './schemas.ts'
import { updateThingType } from './update-thing-type.ts'

export function thingTypeRoutes(deps: RouteDeps): Router {
  const router = Router()
  const tags = ['Thing types']
  const description = 'A management token may name the account with `account_id` (query or body); another token naming a foreign account gets 403.'
  const typeIdOf = (req: Request): string =>
    uuidParamOf(req, 'typeId', (id) => new NotFoundError(`Thing type ${id} not found`, 'thing_type_not_found'))
  const contextOf = (req: Request, ifMatch?: number) => commandContextOf(deps, req, ifMatch)

  deps.openapi.add({
    method: 'post',
    path: '/v1.1/things/types',
    operationId: 'registerThingType',
    summary: 'Register a thing type',
    tags,
    description,
    secured: true,
    body: registerThingTypeBody,
    responses: { 200: { description: 'The registered type', schema: thingTypeResponse, headers: { ETag: 'revision' } } },
  })
  router.post('/v1.1/things/types', deps.requireBearer, async (req, res) => {
    const body = parseInput(registerThingTypeBody, req.body)
    const result = await registerThingType(body, accountOf(req), deps.newId(), contextOf(req))
    await deps.readYourWrites(result.position)
    setRevisionTag(res, result.revision)
    res.json(thingTypeViewOf(result.state))
  })

  deps.openapi.add({
    method: 'get',
    path: '/v1.1/things/types',
    operationId: 'listThingTypes',
    summary: 'The built-in thing types and the account\'s own',
    tags,
    description,
    secured: true,
    responses: { 200: { description: 'Thing types', schema: z.array(thingTypeResponse) } },
  })
  router.get('/v1.1/things/types', deps.requireBearer, async (req, res) => {
    const documents = await thingTypesVisibleTo(deps.readStore, accountOf(req))
    res.json(documents.map(toThingTypeView))
  })

  deps.openapi.add({
    method: 'get',
    path: '/v1.1/things/types/{typeId}',
    operationId: 'getThingType',
    summary: 'Retrieve a thing type',
    tags,
    description,
    secured: true,
    pathParams: { typeId: 'type id (UUID)' },
    responses: { 200: { description: 'The type', schema: thingTypeResponse, headers: { ETag: 'revision, for If-Match' } } },
  })
  router.get('/v1.1/things/types/:typeId', deps.requireBearer, async (req, res) => {
    const typeId = typeIdOf(req)
    const document = await thingTypeVisibleTo(deps.readStore, accountOf(req), typeId)
    if (!document) throw new NotFoundError(`Thing type ${typeId} not found`, 'thing_type_not_found')
    setRevisionTag(res, document.revision)
    res.json(toThingTypeView(document))
  })

  deps.openapi.add({
    method: 'put',
    path: '/v1.1/things/types/{typeId}',
    operationId: 'updateThingType',
    summary: 'Update a thing type (partial); built-in types are read-only',
    tags,
    description,
    secured: true,
    pathParams: { typeId: 'type id (UUID)' },
    headers: [{ name: 'If-Match', description: 'apply only if the type is still at this ETag (412 otherwise)' }],
    body: updateThingTypeBody,
    responses: {
      200: { description: 'The updated type', schema: thingTypeResponse, headers: { ETag: 'revision' } },
      412: { description: 'If-Match no longer holds' },
    },
  })
  router.put('/v1.1/things/types/:typeId', deps.requireBearer, async (req, res) => {
    const typeId = typeIdOf(req)
    const body = parseInput(updateThingTypeBody, req.body)
    const result = await updateThingType(body, accountOf(req), typeId, contextOf(req, ifMatchRevision(req)))
    await deps.readYourWrites(result.position)
    setRevisionTag(res, result.revision)
    res.json(thingTypeViewOf(result.state))
  })

  return router
}
