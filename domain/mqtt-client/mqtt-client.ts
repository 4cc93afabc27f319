/**
 * MQTT client credentials: the username and password a device uses to connect. One set
 * per account and application; asking again returns the same set, so the secret is kept,
 * sealed with the server key. The domain never sees it in clear: the sealed blob arrives
 * on the command.
 */
import { unreachable, type Command, type Decider, type DomainEvent } from '../decider.ts'
import { NotFoundError } from '../errors.ts'

// Events ------------------------------------------------------------------------------

export type MqttClientCreated = DomainEvent<
  'MqttClientCreated',
  {
    readonly clientId: string
    readonly accountId: string
    /** the application the credentials serve; null for tokens that name none */
    readonly applicationId: string | null
    /** the clear secret, encrypted with the server key (never in clear in an event) */
    readonly sealedSecret: string
    readonly createdAt: string
  }
>

export type MqttClientSecretRotated = DomainEvent<
  'MqttClientSecretRotated',
  { readonly clientId: string; readonly sealedSecret: string; readonly rotatedAt: string }
>

export type MqttClientEvent = MqttClientCreated | MqttClientSecretRotated

// Commands ----------------------------------------------------------------------------

/** Creates the credentials, or (when they exist) records nothing: the caller returns the set it has. */
export type CreateMqttClient = Command<
  'CreateMqttClient',
  { readonly clientId: string; readonly accountId: string; readonly applicationId: string | null; readonly sealedSecret: string }
>

export type RotateMqttClientSecret = Command<
  'RotateMqttClientSecret',
  { readonly clientId: string; readonly accountId: string; readonly sealedSecret: string }
>

export type MqttClientCommand = CreateMqttClient | RotateMqttClientSecret

// State -------------------------------------------------------------------------------

export type MqttClientState =
  | { readonly status: 'absent' }
  | {
      readonly status: 'created'
      readonly clientId: string
      readonly accountId: string
      readonly applicationId: string | null
      readonly sealedSecret: string
      readonly createdAt: string
      readonly updatedAt: string
    }

export const mqttClientStreamName = (clientId: string): string => `mqttclient-${clientId}`

export const mqttClientDecider: Decider<MqttClientState, MqttClientCommand, MqttClientEvent> = {
  initialState: { status: 'absent' },

  decide(command, state, now) {
    switch (command.type) {
      case 'CreateMqttClient': {
        if (state.status === 'created') return []
        const { clientId, accountId, applicationId, sealedSecret } = command.data
        return [{ type: 'MqttClientCreated', data: { clientId, accountId, applicationId, sealedSecret, createdAt: now.toISOString() } }]
      }
      case 'RotateMqttClientSecret': {
        if (state.status !== 'created' || state.accountId !== command.data.accountId) {
          throw new NotFoundError(`MQTT client ${command.data.clientId} not found`, 'mqtt_client_not_found')
        }
        return [
          {
            type: 'MqttClientSecretRotated',
            data: { clientId: state.clientId, sealedSecret: command.data.sealedSecret, rotatedAt: now.toISOString() },
          },
        ]
      }
      default:
        return unreachable(command)
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'MqttClientCreated':
        return { status: 'created', ...event.data, updatedAt: event.data.createdAt }
      case 'MqttClientSecretRotated':
        if (state.status !== 'created') return state
        return { ...state, sealedSecret: event.data.sealedSecret, updatedAt: event.data.rotatedAt }
      default:
        return unreachable(event)
    }
  },
}
