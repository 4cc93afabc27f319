/** The MQTT client credential endpoints of the platform API. */
import type { MqttClientState } from '../../domain/mqtt-client/mqtt-client.ts'
import { NotFoundError } from '../../domain/errors.ts'
import { principalOf } from '../http/auth.ts'
import { endpoint, uuidParam, type Endpoint } from '../http/endpoint.ts'
import { accountOf } from '../http/tenancy.ts'
import type { RouteDeps } from '../route-deps.ts'
import { createMqttClient } from './create-mqtt-client.ts'
import { rotateMqttClientSecret } from './rotate-mqtt-client-secret.ts'
import { mqttClientResponse } from './schemas.ts'

export function mqttClientEndpoints(deps: RouteDeps): Endpoint[] {
  const tags = ['MQTT clients']
  const credentialsOf = (state: MqttClientState) => {
    if (state.status !== 'created') throw new Error('MQTT client was not created')
    return { id: state.clientId, clear_secret: deps.secretBox.open(state.sealedSecret) }
  }

  return [
    endpoint({
      method: 'post',
      path: '/v1.1/clients',
      operationId: 'createMqttClient',
      summary: 'Create (or retrieve) the MQTT credentials of the account and application',
      description:
        'The first call creates the credentials (201); every later call by the same account and application returns the same set (200). ' +
        'Username: `id`; password: `clear_secret`; MQTT client id: a thing id. A management token may name `account_id`.',
      tags,
      auth: 'bearer',
      responses: {
        200: { description: 'The existing credentials', schema: mqttClientResponse },
        201: { description: 'New credentials', schema: mqttClientResponse },
      },
      async handle({ req, context }) {
        const result = await createMqttClient(accountOf(req), principalOf(req).applicationId, deps.secretBox, context())
        return { status: result.newEvents.length > 0 ? 201 : 200, body: credentialsOf(result.state), position: result.position }
      },
    }),
    endpoint({
      method: 'post',
      path: '/v1.1/clients/{clientId}/rotate',
      operationId: 'rotateMqttClientSecret',
      summary: 'Issue a new secret for MQTT credentials (beyond the API text); the old secret stops working',
      tags,
      auth: 'bearer',
      params: { clientId: uuidParam('the MQTT client id (UUID)', (id) => new NotFoundError(`MQTT client ${id} not found`, 'mqtt_client_not_found')) },
      responses: { 200: { description: 'The credentials with their new secret', schema: mqttClientResponse } },
      async handle({ req, params, context }) {
        const result = await rotateMqttClientSecret(accountOf(req), params.clientId, deps.secretBox, context())
        return { body: credentialsOf(result.state), position: result.position }
      },
    }),
  ]
}
