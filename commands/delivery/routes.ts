/** The deliveries of rules and jobs: list, one, retry (beyond the API text). */
import { z } from 'zod'
import { NotFoundError } from '../../domain/errors.ts'
import { deliveriesOf, deliveryOfAccount, toDeliveryView } from '../../projections/deliveries.ts'
import { endpoint, uuidParam, type Endpoint } from '../http/endpoint.ts'
import { accountOf } from '../http/tenancy.ts'
import type { RouteDeps } from '../route-deps.ts'
import { retryDelivery } from './retry-delivery.ts'
import { deliveriesQuery, deliveryResponse } from './schemas.ts'

const notFound = (id: string) => new NotFoundError(`Delivery ${id} not found`, 'delivery_not_found')

export function deliveryEndpoints(deps: RouteDeps): Endpoint[] {
  const tags = ['Deliveries']
  const deliveryOrNotFound = async (accountId: string, deliveryId: string) => {
    const document = await deliveryOfAccount(deps.readStore, accountId, deliveryId)
    if (!document) throw notFound(deliveryId)
    return document
  }
  const params = { deliveryId: uuidParam('delivery id (UUID)', notFound) }

  return [
    endpoint({
      method: 'get',
      path: '/v1.1/deliveries',
      operationId: 'listDeliveries',
      summary: "The account's deliveries (commands, e-mails, SMS, HTTP pushes of rules and jobs), newest first",
      description: 'Every attempt of each is listed. `status=failed` gives the ones waiting for a retry, `dead` the dead letters.',
      tags,
      auth: 'bearer',
      query: deliveriesQuery,
      responses: { 200: { description: 'Deliveries', schema: z.array(deliveryResponse) } },
      async handle({ req, query }) {
        const documents = await deliveriesOf(deps.readStore, accountOf(req), {
          ...(query.status === undefined ? {} : { status: query.status }),
          limit: query.limit,
          offset: query.offset,
        })
        return { body: documents.map(toDeliveryView) }
      },
    }),
    endpoint({
      method: 'get',
      path: '/v1.1/deliveries/{deliveryId}',
      operationId: 'getDelivery',
      summary: 'One delivery with its attempts',
      tags,
      auth: 'bearer',
      params,
      responses: { 200: { description: 'The delivery', schema: deliveryResponse } },
      async handle({ req, params }) {
        return { body: toDeliveryView(await deliveryOrNotFound(accountOf(req), params.deliveryId)) }
      },
    }),
    endpoint({
      method: 'post',
      path: '/v1.1/deliveries/{deliveryId}/retry',
      operationId: 'retryDelivery',
      summary: 'Attempt a failed, dead-lettered or undeliverable delivery again, now',
      description: 'A dead letter gets a new round of attempts. The attempt runs in the background: the answer shows the delivery pending.',
      tags,
      auth: 'bearer',
      params,
      responses: {
        202: { description: 'The delivery, due again', schema: deliveryResponse },
        409: { description: 'The delivery already succeeded' },
      },
      async handle({ req, params, context }) {
        const accountId = accountOf(req)
        const result = await retryDelivery(accountId, params.deliveryId, context())
        await deps.readYourWrites(result.position)
        return { status: 202, body: toDeliveryView(await deliveryOrNotFound(accountId, params.deliveryId)) }
      },
    }),
  ]
}
