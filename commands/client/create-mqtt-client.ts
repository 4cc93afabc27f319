/**
 * POST /v1.1/clients: the account's MQTT credentials for the calling application, created
 * on the first call and returned unchanged on every later one. The id is derived from
 * the account and application, so every call lands on the same stream; the fresh secret
 * offered by a later call is simply not used.
 */
import { mqttClientDecider, mqttClientStreamName, type CreateMqttClient } from '../../domain/mqtt-client/mqtt-client.ts'
import { handleCommand, type CommandContext } from '../handle-command.ts'
import { deterministicId } from '../ids.ts'
import type { SecretBox } from '../../domain/ports/secret-box.ts'

export const mqttClientIdOf = (accountId: string, applicationId: string | null): string =>
  deterministicId('mqtt-client', accountId, applicationId ?? '')

export function createMqttClient(accountId: string, applicationId: string | null, secretBox: SecretBox, context: CommandContext) {
  const clientId = mqttClientIdOf(accountId, applicationId)
  const command: CreateMqttClient = {
    type: 'CreateMqttClient',
    data: { clientId, accountId, applicationId, sealedSecret: secretBox.seal(secretBox.newSecret()) },
  }
  return handleCommand(mqttClientDecider, mqttClientStreamName(clientId), command, context)
}
