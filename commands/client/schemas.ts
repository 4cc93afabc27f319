/** Response shape of the MQTT client endpoints, as the API text gives it. */
import { z } from 'zod'

export const mqttClientResponse = z
  .object({
    id: z.uuid().describe('the MQTT username'),
    clear_secret: z.string().describe('the MQTT password'),
  })
  .strict()
  .meta({ title: 'MqttClient' })
