/** The thing-type endpoints of the platform API. */
import { z } from 'zod'
import { NotFoundError } from '../../domain/errors.ts'
import {
  thingTypeViewOf,
  thingTypesVisibleTo,
  thingTypeVisibleTo,
  toThingTypeView,
} from '../../projections/thing-types.ts'
import { endpoint, uuidParam, type Endpoint } from '../http/endpoint.ts'
import { accountOf } from '../http/tenancy.ts'
import type { RouteDeps } from '../route-deps.ts'
import { registerThingType } from './register-thing-type.ts'
import { registerThingTypeBody, thingTypeResponse, updateThingTypeBody } from './schemas.ts'
import { updateThingType } from './update-thing-type.ts'

const notFound = (id: string) => new NotFoundError(`Thing type ${id} not found`, 'thing_type_not_found')

export function thingTypeEndpoints(deps: RouteDeps): Endpoint[] {
  const tags = ['Thing types']
  const description = 'A management token may name the account with `account_id` (query or body); another token naming a foreign account gets 403.'
  const params = { typeId: uuidParam('type id (UUID)', notFound) }

  return [
    endpoint({
      method: 'post',
      path: '/v1.1/things/types',
      operationId: 'registerThingType',
      summary: 'Register a thing type',
      tags,
      description,
      auth: 'bearer',
      body: registerThingTypeBody,
      responses: { 200: { description: 'The registered type', schema: thingTypeResponse, headers: { ETag: 'revision' } } },
      async handle({ req, body, context }) {
        const result = await registerThingType(body, accountOf(req), deps.newId(), context())
        return { body: thingTypeViewOf(result.state), revision: result.revision, position: result.position }
      },
    }),
    endpoint({
      method: 'get',
      path: '/v1.1/things/types',
      operationId: 'listThingTypes',
      summary: 'The built-in thing types and the account\'s own',
      tags,
      description,
      auth: 'bearer',
      responses: { 200: { description: 'Thing types', schema: z.array(thingTypeResponse) } },
      async handle({ req }) {
        return { body: (await thingTypesVisibleTo(deps.readStore, accountOf(req))).map(toThingTypeView) }
      },
    }),
    endpoint({
      method: 'get',
      path: '/v1.1/things/types/{typeId}',
      operationId: 'getThingType',
      summary: 'Retrieve a thing type',
      tags,
      description,
      auth: 'bearer',
      params,
      responses: { 200: { description: 'The type', schema: thingTypeResponse, headers: { ETag: 'revision, for If-Match' } } },
      async handle({ req, params }) {
        const document = await thingTypeVisibleTo(deps.readStore, accountOf(req), params.typeId)
        if (!document) throw notFound(params.typeId)
        return { body: toThingTypeView(document), revision: document.revision }
      },
    }),
    endpoint({
      method: 'put',
      path: '/v1.1/things/types/{typeId}',
      operationId: 'updateThingType',
      summary: 'Update a thing type (partial); built-in types are read-only',
      tags,
      description,
      auth: 'bearer',
      params,
      ifMatch: { description: 'apply only if the type is still at this ETag (412 otherwise)' },
      body: updateThingTypeBody,
      responses: { 200: { description: 'The updated type', schema: thingTypeResponse, headers: { ETag: 'revision' } } },
      async handle({ req, params, body, context }) {
        const result = await updateThingType(body, accountOf(req), params.typeId, context())
        return { body: thingTypeViewOf(result.state), revision: result.revision, position: result.position }
      },
    }),
  ]
}
