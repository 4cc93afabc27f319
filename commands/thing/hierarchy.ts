/**
 * Gathers, from the read models, the facts the thing decider needs to apply the
 * hierarchy rules: the type's constraints, the parent's (only a thing of the same
 * account is found), the parent's ancestors, and whether the thing has children.
 */
import { ValidationError } from '../../domain/errors.ts'
import type { HierarchyFacts } from '../../domain/thing/thing.ts'
import type { ReadStore } from '../../domain/ports/read-store.ts'
import { thingTypesProjection, thingTypeVisibleTo, type ThingTypeDocument } from '../../projections/thing-types.ts'
import { ancestorIdsOf, hasChildren, thingOfAccount } from '../../projections/things.ts'

export async function hierarchyFacts(
  readStore: ReadStore,
  accountId: string,
  facts: {
    readonly deviceTypeId: string
    readonly parentId: string | null
    readonly thingId: string | null
    /** the type the thing has now: it stays usable even when another account owns it (a paired device) */
    readonly currentTypeId?: string
  },
): Promise<HierarchyFacts> {
  const type =
    (await thingTypeVisibleTo(readStore, accountId, facts.deviceTypeId)) ??
    (facts.deviceTypeId === facts.currentTypeId ? await anyThingType(readStore, facts.deviceTypeId) : undefined)
  if (!type) {
    throw new ValidationError(`Thing type ${facts.deviceTypeId} does not exist in this account`, [
      { field: 'device_type_id', problem: 'must be a thing type of this account (see GET /v1.1/things/types)' },
    ])
  }
  let parent: HierarchyFacts['parent'] = null
  if (facts.parentId !== null) {
    const document = await thingOfAccount(readStore, accountId, facts.parentId)
    if (document) {
      // The parent is the account's own thing; its type may belong to whoever provisioned it.
      const parentType = await anyThingType(readStore, document.device_type_id)
      parent = {
        thingId: document.id,
        status: document.status,
        childConstraint: parentType?.child_constraint ?? 'NOT_ALLOWED',
        ancestorIds: await ancestorIdsOf(readStore, accountId, document),
      }
    }
  }
  return {
    type: { id: type.id, parentConstraint: type.parent_constraint, childConstraint: type.child_constraint },
    parent,
    hasChildren: facts.thingId === null ? false : await hasChildren(readStore, accountId, facts.thingId),
  }
}

function anyThingType(readStore: ReadStore, typeId: string): Promise<ThingTypeDocument | undefined> {
  return readStore.collection<ThingTypeDocument>(thingTypesProjection.collection).get(typeId)
}
