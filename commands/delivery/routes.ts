/** The deliveries of rules and jobs: list, one, retry (beyond the API text). */
import { Router, type Request } from 'express'
import { z } from 'zod'
import { NotFoundError } from '../../domain/errors.ts'
import { deliveriesOf, deliveryOfAccount, toDeliveryView } from '../../projections/deliveries.ts'
import { commandContextOf, uuidParamOf } from '../http/requests.ts'
import { accountOf } from '../http/tenancy.ts'
import { parseInput } from '../http/validate.ts'
import type { RouteDeps } from '../route-deps.ts'
import { retryDelivery } from './retry-delivery.ts'
import { deliveriesQuery, deliveryResponse } from './schemas.ts'

export function deliveryRoutes(deps: RouteDeps): Router {
  const router = Router()
  const tags = ['Deliveries']
  const notFound = (id: string) => new NotFoundError(`Delivery ${id} not found`, 'delivery_not_found')
  const deliveryIdOf = (req: Request): string => uuidParamOf(req, 'deliveryId', notFound)
  const deliveryOrNotFound = async (accountId: string, deliveryId: string) => {
    const document = await deliveryOfAccount(deps.readStore, accountId, deliveryId)
    if (!document) throw notFound(deliveryId)
    return document
  }
  const pathParams = { deliveryId: 'delivery id (UUID)' }

  deps.openapi.add({
    method: 'get',
    path: '/v1.1/deliveries',
    operationId: 'listDeliveries',
    summary: "The account's deliveries (commands, e-mails, SMS, HTTP pushes of rules and jobs), newest first",
    description: 'Every attempt of each is listed. `status=failed` gives the ones waiting for a retry, `dead` the dead letters.',
    tags,
    secured: true,
    query: deliveriesQuery,
    responses: { 200: { description: 'Deliveries', schema: z.array(deliveryResponse) } },
  })
  router.get('/v1.1/deliveries', deps.requireBearer, async (req, res) => {
    const query = parseInput(deliveriesQuery, req.query, 'query')
    const documents = await deliveriesOf(deps.readStore, accountOf(req), {
      ...(query.status === undefined ? {} : { status: query.status }),
      limit: query.limit,
      offset: query.offset,
    })
    res.json(documents.map(toDeliveryView))
  })

  deps.openapi.add({
    method: 'get',
    path: '/v1.1/deliveries/{deliveryId}',
    operationId: 'getDelivery',
    summary: 'One delivery with its attempts',
    tags,
    secured: true,
    pathParams,
    responses: { 200: { description: 'The delivery', schema: deliveryResponse } },
  })
  router.get('/v1.1/deliveries/:deliveryId', deps.requireBearer, async (req, res) => {
    const deliveryId = deliveryIdOf(req)
    res.json(toDeliveryView(await deliveryOrNotFound(accountOf(req), deliveryId)))
  })

  deps.openapi.add({
    method: 'post',
    path: '/v1.1/deliveries/{deliveryId}/retry',
    operationId: 'retryDelivery',
    summary: 'Attempt a failed, dead-lettered or undeliverable delivery again, now',
    description: 'A dead letter gets a new round of attempts. The attempt runs in the background: the answer shows the delivery pending.',
    tags,
    secured: true,
    pathParams,
    responses: {
      202: { description: 'The delivery, due again', schema: deliveryResponse },
      409: { description: 'The delivery already succeeded' },
    },
  })
  router.post('/v1.1/deliveries/:deliveryId/retry', deps.requireBearer, async (req, res) => {
    const deliveryId = deliveryIdOf(req)
    const accountId = accountOf(req)
    const result = await retryDelivery(accountId, deliveryId, commandContextOf(deps, req))
    await deps.readYourWrites(result.position)
    res.status(202).json(toDeliveryView(await deliveryOrNotFound(accountId, deliveryId)))
  })

  return router
}
