/** The MQTT client credential endpoints of the platform API. */
import { Router, type Request } from 'express'
import type { MqttClientState } from '../../domain/mqtt-client/mqtt-client.ts'
import { NotFoundError } from '../../domain/errors.ts'
import { principalOf } from '../http/auth.ts'
import { commandContextOf, uuidParamOf } from '../http/requests.ts'
import { accountOf } from '../http/tenancy.ts'
import type { RouteDeps } from '../route-deps.ts'
import { createMqttClient } from './create-mqtt-client.ts'
import { rotateMqttClientSecret } from './rotate-mqtt-client-secret.ts'
import { mqttClientResponse } from './schemas.ts'

export function mqttClientRoutes(deps: RouteDeps): Router {
  const router = Router()
  const tags = ['MQTT clients']
  const contextOf = (req: Request) => commandContextOf(deps, req)
  const credentialsOf = (state: MqttClientState) => {
    if (state.status !== 'created') throw new Error('MQTT client was not created')
    return { id: state.clientId, clear_secret: deps.secretBox.open(state.sealedSecret) }
  }

  deps.openapi.add({
    method: 'post',
    path: '/v1.1/clients',
    operationId: 'createMqttClient',
    summary: 'Create (or retrieve) the MQTT credentials of the account and application',
    description:
      'The first call creates the credentials (201); every later call by the same account and application returns the same set (200). ' +
      'Username: `id`; password: `clear_secret`; MQTT client id: a thing id. A management token may name `account_id`.',
    tags,
    secured: true,
    responses: {
      200: { description: 'The existing credentials', schema: mqttClientResponse },
      201: { description: 'New credentials', schema: mqttClientResponse },
    },
  })
  router.post('/v1.1/clients', deps.requireBearer, async (req, res) => {
    const principal = principalOf(req)
    const result = await createMqttClient(accountOf(req), principal.applicationId, deps.secretBox, contextOf(req))
    await deps.readYourWrites(result.position)
    res.status(result.newEvents.length > 0 ? 201 : 200).json(credentialsOf(result.state))
  })

  deps.openapi.add({
    method: 'post',
    path: '/v1.1/clients/{clientId}/rotate',
    operationId: 'rotateMqttClientSecret',
    summary: 'Issue a new secret for MQTT credentials (beyond the API text); the old secret stops working',
    tags,
    secured: true,
    pathParams: { clientId: 'the MQTT client id (UUID)' },
    responses: { 200: { description: 'The credentials with their new secret', schema: mqttClientResponse } },
  })
  router.post('/v1.1/clients/:clientId/rotate', deps.requireBearer, async (req, res) => {
    const clientId = uuidParamOf(req, 'clientId', (id) => new NotFoundError(`MQTT client ${id} not found`, 'mqtt_client_not_found'))
    const result = await rotateMqttClientSecret(accountOf(req), clientId, deps.secretBox, contextOf(req))
    await deps.readYourWrites(result.position)
    res.json(credentialsOf(result.state))
  })

  return router
}
