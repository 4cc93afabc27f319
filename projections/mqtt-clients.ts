/**
 * Read model `mqttClients`: one document per set of MQTT credentials. The secret stays
 * sealed here too; the MQTT bridge opens it to check a device's password.
 */
import type { MqttClientEvent } from '../domain/mqtt-client/mqtt-client.ts'
import { projection } from './projection.ts'
import type { ReadStore } from '../domain/ports/read-store.ts'

export interface MqttClientDocument {
  readonly id: string
  readonly account_id: string
  readonly application_id: string | null
  readonly sealed_secret: string
  readonly created_at: string
  readonly updated_at: string
  readonly [field: string]: unknown
}

export const mqttClientsProjection = projection<MqttClientEvent, MqttClientDocument>({
  name: 'mqttClients',
  version: 1,
  collection: 'mqtt_clients',
  indexes: ['account_id'],
  canHandle: ['MqttClientCreated', 'MqttClientSecretRotated'],
  documentId: (event) => event.data.clientId,
  evolve(document, event) {
    switch (event.type) {
      case 'MqttClientCreated': {
        const d = event.data
        return {
          id: d.clientId,
          account_id: d.accountId,
          application_id: d.applicationId,
          sealed_secret: d.sealedSecret,
          created_at: d.createdAt,
          updated_at: d.createdAt,
        }
      }
      case 'MqttClientSecretRotated':
        if (!document) return null
        return { ...document, sealed_secret: event.data.sealedSecret, updated_at: event.data.rotatedAt }
    }
  },
})

const collectionOf = (readStore: ReadStore) => readStore.collection<MqttClientDocument>(mqttClientsProjection.collection)

export async function accountHasMqttClient(readStore: ReadStore, accountId: string): Promise<boolean> {
  return (await collectionOf(readStore).count({ account_id: accountId })) > 0
}
