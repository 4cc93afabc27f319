/**
 * Read model `thingTypes`: one document per thing type, in the API's response shape plus
 * the owning account (null for built-in types) and the stream revision (the ETag).
 */
import {
  hierarchyConstraints,
  type ThingTypeEvent,
  type ThingTypeFields,
  type ThingTypeState,
} from '../domain/thing-type/thing-type.ts'
import { projection } from './projection.ts'
import type { ReadStore } from '../domain/ports/read-store.ts'

export interface ThingTypeView {
  readonly id: string
  readonly name: string
  readonly description: string
  readonly category: string | null
  readonly subcategory: string | null
  readonly parent_constraint: 'ALLOWED' | 'NOT_ALLOWED'
  readonly child_constraint: 'ALLOWED' | 'NOT_ALLOWED'
  readonly model: string | null
  readonly version: string | null
  readonly manufacturer: string | null
  readonly transport_protocol: string
  readonly protocol_version: string | null
  readonly created_at: string
  readonly updated_at: string
  readonly data_type: string | null
  readonly proxy_handler: null
}

export type ThingTypeDocument = ThingTypeView & {
  readonly account_id: string | null
  readonly revision: number
  readonly [field: string]: unknown
}

export function thingTypeView(
  typeId: string,
  fields: ThingTypeFields,
  createdAt: string,
  updatedAt: string,
): ThingTypeView {
  const constraints = hierarchyConstraints(fields.category)
  return {
    id: typeId,
    name: fields.name,
    description: fields.description,
    category: fields.category,
    subcategory: fields.subcategory,
    parent_constraint: constraints.parent,
    child_constraint: constraints.child,
    model: fields.model,
    version: fields.version,
    manufacturer: fields.manufacturer,
    transport_protocol: fields.transportProtocol,
    protocol_version: fields.protocolVersion,
    created_at: createdAt,
    updated_at: updatedAt,
    data_type: fields.dataType,
    proxy_handler: null,
  }
}

/** The response for a type just written, built from the decided state. */
export function thingTypeViewOf(state: ThingTypeState): ThingTypeView {
  if (state.status !== 'registered') throw new Error('thing type is not registered')
  return thingTypeView(state.typeId, state.fields, state.registeredAt, state.updatedAt)
}

/** Internal fields never leave the server. */
export function toThingTypeView(document: ThingTypeDocument): ThingTypeView {
  const { account_id: _account, revision: _revision, ...view } = document
  return view as ThingTypeView
}

/** Where each domain field shows in the API's shape. */
const viewFieldOf: Record<keyof ThingTypeFields, keyof ThingTypeView> = {
  name: 'name',
  description: 'description',
  model: 'model',
  version: 'version',
  manufacturer: 'manufacturer',
  transportProtocol: 'transport_protocol',
  protocolVersion: 'protocol_version',
  category: 'category',
  subcategory: 'subcategory',
  dataType: 'data_type',
}

export const thingTypesProjection = projection<ThingTypeEvent, ThingTypeDocument>({
  name: 'thingTypes',
  version: 1,
  collection: 'thing_types',
  indexes: ['account_id'],
  canHandle: ['ThingTypeRegistered', 'ThingTypeUpdated'],
  documentId: (event) => event.data.typeId,
  evolve(document, event) {
    switch (event.type) {
      case 'ThingTypeRegistered': {
        const { typeId, accountId, registeredAt, ...fields } = event.data
        return {
          ...thingTypeView(typeId, fields, registeredAt, registeredAt),
          account_id: accountId,
          revision: event.revision,
        }
      }
      case 'ThingTypeUpdated': {
        if (!document) return null
        // Patch the document field by field: rebuilding it whole per event dominated rebuilds.
        const { changes, updatedAt } = event.data
        const patched: Record<string, unknown> = { ...document, updated_at: updatedAt, revision: event.revision }
        for (const [field, value] of Object.entries(changes)) patched[viewFieldOf[field as keyof ThingTypeFields]] = value
        if (changes.category !== undefined) {
          const constraints = hierarchyConstraints(changes.category)
          patched.parent_constraint = constraints.parent
          patched.child_constraint = constraints.child
        }
        return patched as ThingTypeDocument
      }
    }
  },
})

// Queries -----------------------------------------------------------------------------

const collectionOf = (readStore: ReadStore) => readStore.collection<ThingTypeDocument>(thingTypesProjection.collection)

/** A type the account may see: its own or a built-in one. Another account's is "not found". */
export async function thingTypeVisibleTo(
  readStore: ReadStore,
  accountId: string,
  typeId: string,
): Promise<ThingTypeDocument | undefined> {
  const document = await collectionOf(readStore).get(typeId)
  if (!document || (document.account_id !== null && document.account_id !== accountId)) return undefined
  return document
}

/** The built-in types first, then the account's own, each in order of creation. */
export async function thingTypesVisibleTo(readStore: ReadStore, accountId: string): Promise<ThingTypeDocument[]> {
  const collection = collectionOf(readStore)
  const [builtIn, own] = await Promise.all([
    collection.find({ account_id: null }, { orderBy: 'created_at' }),
    collection.find({ account_id: accountId }, { orderBy: 'created_at' }),
  ])
  return [...builtIn, ...own]
}
