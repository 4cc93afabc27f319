/**
 * Read model `provisionedDevices`: one document per device of every provisioning batch
 * (the batch's single append fanned out), PENDING until a user pairs it, then PAIRED.
 * Pairing and the batch's uniqueness check look devices up by their hardware id.
 */
import { hardwareKey, type ProvisioningEvent } from '../domain/provisioning/provisioning.ts'
import type { ThingPaired } from '../domain/thing/thing.ts'
import { projection } from './projection.ts'
import type { ReadStore } from '../domain/ports/read-store.ts'

export interface ProvisionedDeviceView {
  readonly id: string
  readonly application_id: string | null
  readonly hardware_id: string | null
  readonly device_type_id: string
  readonly codec: string | null
  readonly status: 'PENDING' | 'PAIRED'
  readonly created_at: string
}

export type ProvisionedDeviceDocument = ProvisionedDeviceView & {
  readonly account_id: string
  readonly batch_id: string
  /** the hardware id as compared (trimmed, lower case); null when the batch gave none */
  readonly hardware_key: string | null
  /** the batch's order, so a batch reads back as it was sent */
  readonly row: number
  readonly paired_at: string | null
  readonly [field: string]: unknown
}

export const provisionedDevicesProjection = projection<ProvisioningEvent | ThingPaired, ProvisionedDeviceDocument>({
  name: 'provisionedDevices',
  version: 1,
  collection: 'provisioned_devices',
  indexes: ['hardware_key', 'batch_id', 'account_id'],
  canHandle: ['DeviceProvisioned', 'ThingPaired'],
  documentId: (event) => (event.type === 'ProvisioningBatchAccepted' ? event.data.batchId : event.data.thingId),
  evolve(document, event) {
    switch (event.type) {
      case 'ProvisioningBatchAccepted':
        return document
      case 'DeviceProvisioned': {
        const d = event.data
        return {
          id: d.thingId,
          application_id: d.applicationId,
          hardware_id: d.hardwareId,
          device_type_id: d.deviceTypeId,
          codec: d.codec,
          status: 'PENDING',
          created_at: d.provisionedAt,
          account_id: d.accountId,
          batch_id: d.batchId,
          hardware_key: d.hardwareId === null ? null : hardwareKey(d.hardwareId),
          row: event.revision,
          paired_at: null,
        }
      }
      case 'ThingPaired':
        if (!document) return null
        return { ...document, status: 'PAIRED', paired_at: event.data.pairedAt }
    }
  },
})

export function toProvisionedDeviceView(document: ProvisionedDeviceDocument): ProvisionedDeviceView {
  return {
    id: document.id,
    application_id: document.application_id,
    hardware_id: document.hardware_id,
    device_type_id: document.device_type_id,
    codec: document.codec,
    status: document.status,
    created_at: document.created_at,
  }
}

const collectionOf = (readStore: ReadStore) => readStore.collection<ProvisionedDeviceDocument>(provisionedDevicesProjection.collection)

/** Which of these hardware keys some batch already registered. */
export async function registeredHardwareKeys(readStore: ReadStore, keys: readonly string[]): Promise<string[]> {
  const found: string[] = []
  for (let i = 0; i < keys.length; i += 200) {
    const documents = await collectionOf(readStore).find({ hardware_key: keys.slice(i, i + 200) })
    for (const document of documents) if (document.hardware_key !== null) found.push(document.hardware_key)
  }
  return found
}

/** The device registered under a hardware id, whoever provisioned it (pairing crosses accounts by design). */
export async function deviceByHardwareId(readStore: ReadStore, hardwareId: string): Promise<ProvisionedDeviceDocument | undefined> {
  const [first] = await collectionOf(readStore).find({ hardware_key: hardwareKey(hardwareId) }, { orderBy: 'created_at', limit: 1 })
  return first
}

/** A batch's devices in the order they were sent; empty for another account's batch. */
export function devicesOfBatch(readStore: ReadStore, accountId: string, batchId: string): Promise<ProvisionedDeviceDocument[]> {
  return collectionOf(readStore).find({ batch_id: batchId, account_id: accountId }, { orderBy: 'row' })
}
