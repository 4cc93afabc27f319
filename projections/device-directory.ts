/**
 * Who a device is: checks MQTT credentials (the MQTT broker's CONNECT and the HTTP
 * ingest's Basic auth) and finds the things a connection may address. Reads the
 * `mqttClients`, `things` and `provisionedDevices` read models on every call, so a
 * rotated secret or a deactivated thing takes effect at once; only the opened secret
 * is cached, keyed by its sealed form (a rotation changes the key).
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { SecretBox } from '../domain/ports/secret-box.ts'
import type { ThingStatus } from '../domain/thing/thing.ts'
import { mqttClientsProjection, type MqttClientDocument } from './mqtt-clients.ts'
import { provisionedDevicesProjection, type ProvisionedDeviceDocument } from './provisioned-devices.ts'
import type { ReadStore } from '../domain/ports/read-store.ts'
import { thingsProjection, type ThingDocument } from './things.ts'

export interface DeviceThing {
  readonly id: string
  readonly accountId: string
  readonly status: ThingStatus
  /** the provisioning codec (`lpp` decodes binary Cayenne LPP); null for things created directly */
  readonly codec: string | null
}

export type DeviceAuthentication =
  | { readonly ok: true; readonly accountId: string; readonly thing: Pick<DeviceThing, 'id' | 'status' | 'codec'> }
  /** 4: bad user name or password; 5: not authorized (MQTT CONNACK return codes; HTTP 401 / 403) */
  | { readonly ok: false; readonly code: 4 | 5; readonly reason: string }

export interface DeviceCredentials {
  /** the MQTT client id from POST /v1.1/clients */
  readonly username: string
  /** its clear_secret */
  readonly password: string
  /** the thing the device speaks for (the MQTT client id, or the ingest path's thingId) */
  readonly thingId: string
}

export interface DeviceDirectory {
  authenticateDevice(credentials: DeviceCredentials): Promise<DeviceAuthentication>
  /** A thing of the account (a gateway publishing for its children); undefined for another account's or an unknown one. */
  thingOfAccount(accountId: string, thingId: string): Promise<DeviceThing | undefined>
  /** A thing whatever its account (the command reactor, which knows only the thing id). */
  thingById(thingId: string): Promise<DeviceThing | undefined>
  /** The account's MQTT usernames (the client ids of its credentials). */
  usernamesOfAccount(accountId: string): Promise<string[]>
}

export interface DeviceDirectoryDeps {
  readonly readStore: ReadStore
  readonly secretBox: SecretBox
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest()

/** Constant time whatever the lengths: both sides are hashed first. */
function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected))
}

export function createDeviceDirectory(deps: DeviceDirectoryDeps): DeviceDirectory {
  // looked up per call: the read models are declared when the projector starts
  const clients = () => deps.readStore.collection<MqttClientDocument>(mqttClientsProjection.collection)
  const things = () => deps.readStore.collection<ThingDocument>(thingsProjection.collection)
  const provisioned = () => deps.readStore.collection<ProvisionedDeviceDocument>(provisionedDevicesProjection.collection)
  /** username → [sealed, clear]: a reconnect storm of an account's devices opens its secret once */
  const opened = new Map<string, readonly [string, string]>()

  const clearSecretOf = (client: MqttClientDocument): string | undefined => {
    const cached = opened.get(client.id)
    if (cached && cached[0] === client.sealed_secret) return cached[1]
    try {
      const clear = deps.secretBox.open(client.sealed_secret)
      if (opened.size >= 10_000) opened.clear()
      opened.set(client.id, [client.sealed_secret, clear])
      return clear
    } catch {
      // sealed with another server key: nobody can log in with it until it is rotated
      return undefined
    }
  }

  const thingById = async (thingId: string): Promise<DeviceThing | undefined> => {
    if (thingId === '' || thingId.length > 128) return undefined
    const thing = await things().get(thingId)
    if (!thing) return undefined
    const device = await provisioned().get(thingId)
    return { id: thing.id, accountId: thing.account_id, status: thing.status, codec: device?.codec ?? null }
  }

  const thingOfAccount = async (accountId: string, thingId: string): Promise<DeviceThing | undefined> => {
    const thing = await thingById(thingId)
    return thing?.accountId === accountId ? thing : undefined
  }

  return {
    thingOfAccount,
    thingById,

    async authenticateDevice({ username, password, thingId }) {
      const client = username === '' || username.length > 128 ? undefined : await clients().get(username)
      const clear = client && clearSecretOf(client)
      // Compare even for an unknown user, so the answer takes as long either way.
      const matches = sameSecret(password, clear ?? '\u0000no secret')
      if (!client || clear === undefined || !matches) return { ok: false, code: 4, reason: 'bad user name or password' }
      const thing = await thingOfAccount(client.account_id, thingId)
      if (!thing) return { ok: false, code: 5, reason: `${thingId} is not a thing of this account` }
      if (thing.status !== 'ACTIVE') return { ok: false, code: 5, reason: `thing ${thingId} is ${thing.status}` }
      return { ok: true, accountId: client.account_id, thing: { id: thing.id, status: thing.status, codec: thing.codec } }
    },

    async usernamesOfAccount(accountId) {
      const documents = await clients().find({ account_id: accountId }, { orderBy: 'created_at' })
      return documents.map((d) => d.id)
    },
  }
}
