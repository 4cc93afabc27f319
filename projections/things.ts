/**
 * Read model `things`: one document per thing, in the API's response shape plus the
 * owning account, the stream revision (the ETag) and the times. Its queries (the
 * account's active things, a thing's children, the ancestors for the hierarchy rules)
 * are beside it.
 */
import type { ExistingThing, ThingEvent, ThingProperties, ThingStatus } from '../domain/thing/thing.ts'
import type { TelemetryEvent } from '../domain/telemetry/telemetry.ts'
import { projection } from './projection.ts'
import type { ReadStore } from '../domain/ports/read-store.ts'

export interface ThingView {
  readonly id: string
  readonly name: string
  readonly device_type_id: string
  readonly parent_id: string | null
  readonly hardware_id: string | null
  readonly properties: ThingProperties
  readonly active: 0 | 1
  readonly status: ThingStatus
  readonly last_online: number
}

export type ThingDocument = ThingView & {
  readonly account_id: string
  /** the revision of the thing's own stream (its ETag); telemetry does not move it */
  readonly revision: number
  /** what the device said about itself on `sys/*` (model, version, cpu/model, ...); not in the API's thing */
  readonly device_info?: Readonly<Record<string, string>>
  readonly created_at: string
  readonly updated_at: string
  readonly [field: string]: unknown
}

/** The response for a thing just written (or folded up to a moment), from the aggregate's state. */
export function thingViewOf(state: ExistingThing): ThingView {
  return {
    id: state.thingId,
    name: state.name,
    device_type_id: state.deviceTypeId,
    parent_id: state.parentId,
    hardware_id: state.hardwareId,
    properties: state.properties,
    active: state.active,
    status: state.status,
    last_online: 0,
  }
}

/** Internal fields never leave the server. */
export function toThingView(document: ThingDocument): ThingView {
  return {
    id: document.id,
    name: document.name,
    device_type_id: document.device_type_id,
    parent_id: document.parent_id,
    hardware_id: document.hardware_id,
    properties: document.properties,
    active: document.active,
    status: document.status,
    last_online: document.last_online,
  }
}

type ThingLifecycleEvent = Extract<ThingEvent, { type: 'ThingCreated' | 'ThingPaired' | 'ThingUpdated' | 'ThingDeactivated' }>
type DevicePresenceEvent = Extract<
  TelemetryEvent,
  { type: 'SensorReadingsRecorded' | 'SensorReadingRecorded' | 'DeviceConnected' | 'DeviceDisconnected' | 'DeviceInfoReported' }
>

/** ms since the epoch; a redelivered or late fact never moves it back */
const onlineAt = (document: ThingDocument, at: string): number => Math.max(document.last_online, Date.parse(at) || 0)

export const thingsProjection = projection<ThingLifecycleEvent | DevicePresenceEvent, ThingDocument>({
  name: 'things',
  version: 2,
  collection: 'things',
  indexes: ['account_id', 'parent_id', 'status'],
  canHandle: [
    'ThingCreated',
    'ThingPaired',
    'ThingUpdated',
    'ThingDeactivated',
    'SensorReadingsRecorded',
    'SensorReadingRecorded',
    'DeviceConnected',
    'DeviceDisconnected',
    'DeviceInfoReported',
  ],
  documentId: (event) => event.data.thingId,
  evolve(document, event) {
    switch (event.type) {
      case 'ThingCreated': {
        const d = event.data
        return {
          id: d.thingId,
          name: d.name,
          device_type_id: d.deviceTypeId,
          parent_id: d.parentId,
          hardware_id: null,
          properties: d.properties,
          active: d.active,
          status: d.status,
          last_online: 0,
          account_id: d.accountId,
          revision: event.revision,
          created_at: d.createdAt,
          updated_at: d.createdAt,
        }
      }
      case 'ThingPaired': {
        const d = event.data
        return {
          id: d.thingId,
          name: d.name,
          device_type_id: d.deviceTypeId,
          parent_id: null,
          hardware_id: d.hardwareId,
          properties: {},
          active: 1,
          status: 'ACTIVE',
          last_online: 0,
          account_id: d.accountId,
          revision: event.revision,
          created_at: d.pairedAt,
          updated_at: d.pairedAt,
        }
      }
      case 'ThingUpdated': {
        if (!document) return null
        const c = event.data.changes
        return {
          ...document,
          ...(c.name === undefined ? {} : { name: c.name }),
          ...(c.deviceTypeId === undefined ? {} : { device_type_id: c.deviceTypeId }),
          ...(c.parentId === undefined ? {} : { parent_id: c.parentId }),
          ...(c.properties === undefined ? {} : { properties: c.properties }),
          ...(c.active === undefined ? {} : { active: c.active }),
          ...(c.status === undefined ? {} : { status: c.status }),
          revision: event.revision,
          updated_at: event.data.updatedAt,
        }
      }
      case 'ThingDeactivated':
        if (!document) return null
        return { ...document, status: 'DEACTIVATED', active: 0, revision: event.revision, updated_at: event.data.deactivatedAt }
      // A device talking for a thing id nobody created makes no thing.
      case 'SensorReadingsRecorded':
      case 'SensorReadingRecorded':
      case 'DeviceConnected':
      case 'DeviceDisconnected': {
        if (!document) return null
        // readings are in the order received: the last is the newest
        const at = event.type === 'SensorReadingsRecorded' ? event.data.readings[event.data.readings.length - 1]!.at : event.data.at
        const lastOnline = onlineAt(document, at)
        return lastOnline === document.last_online ? document : { ...document, last_online: lastOnline }
      }
      case 'DeviceInfoReported':
        if (!document) return null
        return {
          ...document,
          last_online: onlineAt(document, event.data.at),
          device_info: { ...document.device_info, [event.data.name]: event.data.value },
        }
    }
  },
})

// Queries -----------------------------------------------------------------------------

const collectionOf = (readStore: ReadStore) => readStore.collection<ThingDocument>(thingsProjection.collection)

/** The account's thing; another account's is "not found". */
export async function thingOfAccount(readStore: ReadStore, accountId: string, thingId: string): Promise<ThingDocument | undefined> {
  const document = await collectionOf(readStore).get(thingId)
  return document && document.account_id === accountId ? document : undefined
}

/** The API text: only things whose status is ACTIVE are listed. */
export function activeThingsOf(readStore: ReadStore, accountId: string): Promise<ThingDocument[]> {
  return collectionOf(readStore).find({ account_id: accountId, status: 'ACTIVE' }, { orderBy: 'created_at' })
}

/** A thing's children that are not deactivated. */
export async function childrenOf(readStore: ReadStore, accountId: string, thingId: string): Promise<ThingDocument[]> {
  const children = await collectionOf(readStore).find({ parent_id: thingId, account_id: accountId }, { orderBy: 'created_at' })
  return children.filter((child) => child.status !== 'DEACTIVATED')
}

export async function hasChildren(readStore: ReadStore, accountId: string, thingId: string): Promise<boolean> {
  return (await childrenOf(readStore, accountId, thingId)).length > 0
}

/** The parent's parent, its parent, ... (bounded, so a damaged read model cannot loop forever). */
export async function ancestorIdsOf(readStore: ReadStore, accountId: string, thing: ThingDocument, maxDepth = 64): Promise<string[]> {
  const ancestors: string[] = []
  let parentId = thing.parent_id
  while (parentId !== null && ancestors.length < maxDepth && !ancestors.includes(parentId)) {
    ancestors.push(parentId)
    const parent = await thingOfAccount(readStore, accountId, parentId)
    parentId = parent?.parent_id ?? null
  }
  return ancestors
}
