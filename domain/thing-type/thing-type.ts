/**
 * Thing types: the kinds of device an account registers ("Arduino", "LoRa sensor").
 * A type's category decides where it may stand in a device hierarchy.
 */
import { unreachable, type Command, type Decider, type DomainEvent } from '../decider.ts'
import { ConflictError, ForbiddenError, NotFoundError } from '../errors.ts'

export const transportProtocols = ['mqtt', 'tcp', 'http'] as const
export type TransportProtocol = (typeof transportProtocols)[number]

export const thingTypeCategories = ['sensor', 'actuator', 'computer', 'module'] as const
export type ThingTypeCategory = (typeof thingTypeCategories)[number]

export type HierarchyConstraint = 'ALLOWED' | 'NOT_ALLOWED'

export interface ThingTypeFields {
  readonly name: string
  readonly description: string
  readonly model: string | null
  readonly version: string | null
  readonly manufacturer: string | null
  readonly transportProtocol: TransportProtocol
  readonly protocolVersion: string | null
  readonly category: ThingTypeCategory | null
  readonly subcategory: string | null
  readonly dataType: string | null
}

/**
 * A computer (a Raspberry Pi, a gateway) carries devices but sits under nothing; sensors
 * and actuators hang under a computer or module and carry nothing; a module (an expansion
 * board, a radio) does both. A type without a category constrains nothing.
 */
export function hierarchyConstraints(category: ThingTypeCategory | null): {
  parent: HierarchyConstraint
  child: HierarchyConstraint
} {
  switch (category) {
    case 'computer':
      return { parent: 'NOT_ALLOWED', child: 'ALLOWED' }
    case 'sensor':
    case 'actuator':
      return { parent: 'ALLOWED', child: 'NOT_ALLOWED' }
    case 'module':
    case null:
      return { parent: 'ALLOWED', child: 'ALLOWED' }
    default:
      return unreachable(category)
  }
}

// Events ------------------------------------------------------------------------------

export type ThingTypeRegistered = DomainEvent<
  'ThingTypeRegistered',
  ThingTypeFields & {
    readonly typeId: string
    /** null for the built-in types every account sees */
    readonly accountId: string | null
    readonly registeredAt: string
  }
>

export type ThingTypeUpdated = DomainEvent<
  'ThingTypeUpdated',
  {
    readonly typeId: string
    readonly changes: Partial<ThingTypeFields>
    readonly updatedAt: string
  }
>

export type ThingTypeEvent = ThingTypeRegistered | ThingTypeUpdated

// Commands ----------------------------------------------------------------------------

export type RegisterThingType = Command<
  'RegisterThingType',
  ThingTypeFields & { readonly typeId: string; readonly accountId: string | null }
>

export type UpdateThingType = Command<
  'UpdateThingType',
  { readonly typeId: string; readonly accountId: string; readonly changes: Partial<ThingTypeFields> }
>

export type ThingTypeCommand = RegisterThingType | UpdateThingType

// State -------------------------------------------------------------------------------

export type ThingTypeState =
  | { readonly status: 'unregistered' }
  | {
      readonly status: 'registered'
      readonly typeId: string
      readonly accountId: string | null
      readonly fields: ThingTypeFields
      readonly registeredAt: string
      readonly updatedAt: string
    }

export const thingTypeStreamName = (typeId: string): string => `thingtype-${typeId}`

const fieldNames = [
  'name',
  'description',
  'model',
  'version',
  'manufacturer',
  'transportProtocol',
  'protocolVersion',
  'category',
  'subcategory',
  'dataType',
] as const satisfies readonly (keyof ThingTypeFields)[]

/** Only the fields whose value really changes: an update that changes nothing records nothing. */
function effectiveChanges(current: ThingTypeFields, requested: Partial<ThingTypeFields>): Partial<ThingTypeFields> {
  const changes: Record<string, unknown> = {}
  for (const field of fieldNames) {
    const value = requested[field]
    if (value !== undefined && value !== current[field]) changes[field] = value
  }
  return changes as Partial<ThingTypeFields>
}

function pickFields(source: ThingTypeFields): ThingTypeFields {
  const fields: Record<string, unknown> = {}
  for (const field of fieldNames) fields[field] = source[field]
  return fields as unknown as ThingTypeFields
}

export const thingTypeDecider: Decider<ThingTypeState, ThingTypeCommand, ThingTypeEvent> = {
  initialState: { status: 'unregistered' },

  decide(command, state, now) {
    switch (command.type) {
      case 'RegisterThingType': {
        if (state.status === 'registered') {
          // Registering the same id again with the same content is a retry, not a conflict.
          const same =
            state.accountId === command.data.accountId &&
            Object.keys(effectiveChanges(state.fields, pickFields(command.data))).length === 0
          if (same) return []
          throw new ConflictError(`Thing type ${command.data.typeId} already exists`, 'thing_type_exists')
        }
        return [
          {
            type: 'ThingTypeRegistered',
            data: {
              ...pickFields(command.data),
              typeId: command.data.typeId,
              accountId: command.data.accountId,
              registeredAt: now.toISOString(),
            },
          },
        ]
      }
      case 'UpdateThingType': {
        if (state.status !== 'registered' || (state.accountId !== null && state.accountId !== command.data.accountId)) {
          throw new NotFoundError(`Thing type ${command.data.typeId} not found`, 'thing_type_not_found')
        }
        if (state.accountId === null) {
          throw new ForbiddenError('Built-in thing types are read-only', 'thing_type_read_only')
        }
        const changes = effectiveChanges(state.fields, command.data.changes)
        if (Object.keys(changes).length === 0) return []
        return [{ type: 'ThingTypeUpdated', data: { typeId: state.typeId, changes, updatedAt: now.toISOString() } }]
      }
      default:
        return unreachable(command)
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'ThingTypeRegistered':
        return {
          status: 'registered',
          typeId: event.data.typeId,
          accountId: event.data.accountId,
          fields: pickFields(event.data),
          registeredAt: event.data.registeredAt,
          updatedAt: event.data.registeredAt,
        }
      case 'ThingTypeUpdated':
        if (state.status !== 'registered') return state
        return { ...state, fields: { ...state.fields, ...event.data.changes }, updatedAt: event.data.updatedAt }
      default:
        return unreachable(event)
    }
  },
}

/**
 * The built-in types every account sees. Their ids are fixed so that devices and
 * scripts can name them; `genericThingTypeId` is the default `device_type_id`.
 */
export const genericThingTypeId = '00000000-0000-4000-8000-000000000001'

const builtIn = (
  typeId: string,
  name: string,
  description: string,
  category: ThingTypeCategory | null,
): RegisterThingType['data'] => ({
  typeId,
  accountId: null,
  name,
  description,
  model: null,
  version: null,
  manufacturer: null,
  transportProtocol: 'mqtt',
  protocolVersion: '1.1',
  category,
  subcategory: null,
  dataType: null,
})

export const builtInThingTypes: readonly RegisterThingType['data'][] = [
  builtIn(genericThingTypeId, 'Generic device', 'Any device that speaks the Cayenne MQTT protocol', null),
  builtIn('00000000-0000-4000-8000-000000000002', 'Generic gateway', 'A computer that carries other devices', 'computer'),
  builtIn('00000000-0000-4000-8000-000000000003', 'Generic sensor', 'A sensor attached to a gateway or module', 'sensor'),
  builtIn('00000000-0000-4000-8000-000000000004', 'Generic actuator', 'An actuator attached to a gateway or module', 'actuator'),
]
