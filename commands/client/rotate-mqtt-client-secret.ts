/** POST /v1.1/clients/{id}/rotate (beyond the API text): a new secret; the old one stops working. */
import { mqttClientDecider, mqttClientStreamName, type RotateMqttClientSecret } from '../../domain/mqtt-client/mqtt-client.ts'
import { handleCommand, type CommandContext } from '../handle-command.ts'
import type { SecretBox } from '../../domain/ports/secret-box.ts'

export function rotateMqttClientSecret(accountId: string, clientId: string, secretBox: SecretBox, context: CommandContext) {
  const command: RotateMqttClientSecret = {
    type: 'RotateMqttClientSecret',
    data: { clientId, accountId, sealedSecret: secretBox.seal(secretBox.newSecret()) },
  }
  return handleCommand(mqttClientDecider, mqttClientStreamName(clientId), command, context)
}
