/**
 * Things: every device that connects, created directly (POST /v1.1/things) or claimed
 * from a provisioning batch (pairing). A thing lives in one account, may hang under a
 * parent thing of the same account, and receives commands, each numbered with a `seq`
 * of its own.
 *
 * The hierarchy rules need facts from other aggregates (the type's constraints, the
 * parent's type and ancestors, whether the thing has children). The use case reads them
 * from the read models and hands them over on the command, so the rules themselves stay
 * here, pure and testable.
 */
import { unreachable, type Command, type Decider, type DomainEvent } from '../decider.ts'
import { ConflictError, NotFoundError, ValidationError, type ErrorDetail } from '../errors.ts'
import type { HierarchyConstraint } from '../thing-type/thing-type.ts'

export const thingStatuses = ['ACTIVE', 'DEACTIVATED', 'BLOCKED'] as const
export type ThingStatus = (typeof thingStatuses)[number]

export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue }
export type ThingProperties = { readonly [key: string]: JsonValue }

export interface ThingFields {
  readonly name: string
  readonly deviceTypeId: string
  readonly parentId: string | null
  readonly properties: ThingProperties
  /** 1 enabled, 0 disabled */
  readonly active: 0 | 1
  readonly status: ThingStatus
}

/** What the use case found out about the type and the parent the thing would have. */
export interface HierarchyFacts {
  readonly type: { readonly id: string; readonly parentConstraint: HierarchyConstraint; readonly childConstraint: HierarchyConstraint }
  readonly parent: {
    readonly thingId: string
    readonly status: ThingStatus
    readonly childConstraint: HierarchyConstraint
    /** the parent's parent, its parent, ... up to the root */
    readonly ancestorIds: readonly string[]
  } | null
  readonly hasChildren: boolean
}

export const commandStates = ['requested', 'delivered', 'acknowledged', 'failed', 'timed_out'] as const
export type CommandState = (typeof commandStates)[number]
export type CommandOutcome = Exclude<CommandState, 'requested'>

// Events ------------------------------------------------------------------------------

export type ThingCreated = DomainEvent<
  'ThingCreated',
  ThingFields & { readonly thingId: string; readonly accountId: string; readonly createdAt: string }
>

/** A provisioned device claimed by a user: it becomes an ACTIVE thing of the user's account. */
export type ThingPaired = DomainEvent<
  'ThingPaired',
  {
    readonly thingId: string
    readonly accountId: string
    readonly pairedByUserId: string
    readonly name: string
    readonly deviceTypeId: string
    readonly hardwareId: string
    readonly codec: string | null
    readonly batchId: string
    readonly provisionedByAccountId: string
    readonly pairedAt: string
  }
>

export type ThingUpdated = DomainEvent<
  'ThingUpdated',
  { readonly thingId: string; readonly changes: Partial<ThingFields>; readonly updatedAt: string }
>

export type ThingDeactivated = DomainEvent<'ThingDeactivated', { readonly thingId: string; readonly deactivatedAt: string }>

export type CommandRequested = DomainEvent<
  'CommandRequested',
  {
    readonly thingId: string
    readonly commandId: string
    readonly seq: number
    readonly channel: number
    readonly value: string | number | boolean
    readonly requestedAt: string
  }
>

type OutcomeData = { readonly thingId: string; readonly seq: number; readonly at: string; readonly reason: string | null }
export type CommandDelivered = DomainEvent<'CommandDelivered', OutcomeData>
export type CommandAcknowledged = DomainEvent<'CommandAcknowledged', OutcomeData>
export type CommandFailed = DomainEvent<'CommandFailed', OutcomeData>
export type CommandTimedOut = DomainEvent<'CommandTimedOut', OutcomeData>
export type CommandOutcomeEvent = CommandDelivered | CommandAcknowledged | CommandFailed | CommandTimedOut

export type ThingEvent = ThingCreated | ThingPaired | ThingUpdated | ThingDeactivated | CommandRequested | CommandOutcomeEvent

// Commands ----------------------------------------------------------------------------

export type CreateThing = Command<
  'CreateThing',
  ThingFields & { readonly thingId: string; readonly accountId: string; readonly hierarchy: HierarchyFacts }
>

export type PairThing = Command<'PairThing', Omit<ThingPaired['data'], 'pairedAt'>>

export type UpdateThing = Command<
  'UpdateThing',
  {
    readonly thingId: string
    readonly accountId: string
    readonly changes: Partial<ThingFields>
    /** facts about the type and parent the thing has after the change */
    readonly hierarchy: HierarchyFacts
  }
>

export type DeactivateThing = Command<'DeactivateThing', { readonly thingId: string; readonly accountId: string }>

export type RequestCommand = Command<
  'RequestCommand',
  {
    readonly thingId: string
    readonly accountId: string
    readonly commandId: string
    readonly channel: number
    readonly value: string | number | boolean
  }
>

/** What the MQTT side reports about a command (the next release's delivery reactor). */
export type RecordCommandOutcome = Command<
  'RecordCommandOutcome',
  { readonly thingId: string; readonly seq: number; readonly outcome: CommandOutcome; readonly reason: string | null }
>

export type ThingCommand = CreateThing | PairThing | UpdateThing | DeactivateThing | RequestCommand | RecordCommandOutcome

// State -------------------------------------------------------------------------------

export interface ExistingThing extends ThingFields {
  readonly status: ThingStatus
  readonly thingId: string
  readonly accountId: string
  readonly hardwareId: string | null
  readonly createdAt: string
  readonly updatedAt: string
  /** the seq of the last command requested; 0 before the first */
  readonly lastCommandSeq: number
  readonly commandStates: Readonly<Record<number, CommandState>>
}

export type ThingState = { readonly exists: false } | ({ readonly exists: true } & ExistingThing)

export const thingStreamName = (thingId: string): string => `thing-${thingId}`

const fieldNames = ['name', 'deviceTypeId', 'parentId', 'properties', 'active', 'status'] as const satisfies readonly (keyof ThingFields)[]

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

function effectiveChanges(current: ThingFields, requested: Partial<ThingFields>): Partial<ThingFields> {
  const changes: Record<string, unknown> = {}
  for (const field of fieldNames) {
    const value = requested[field]
    if (value !== undefined && !sameValue(value, current[field])) changes[field] = value
  }
  return changes as Partial<ThingFields>
}

/**
 * The hierarchy rules: the parent is another thing of the account (the use case only
 * finds the account's own), not deactivated, its type takes children, the thing's type
 * takes a parent, and the thing is not its own ancestor. A thing with children keeps a
 * type that takes children.
 */
function checkHierarchy(thingId: string, parentId: string | null, facts: HierarchyFacts): void {
  const problems: ErrorDetail[] = []
  const { type, parent } = facts
  if (parentId !== null) {
    if (parent === null || parent.thingId !== parentId) {
      problems.push({ field: 'parent_id', problem: 'must be a thing of this account' })
    } else if (parentId === thingId || parent.ancestorIds.includes(thingId)) {
      problems.push({ field: 'parent_id', problem: 'would make the thing its own ancestor (a cycle)' })
    } else {
      if (parent.status === 'DEACTIVATED') problems.push({ field: 'parent_id', problem: 'is deactivated' })
      if (parent.childConstraint !== 'ALLOWED') problems.push({ field: 'parent_id', problem: "its type does not allow children" })
      if (type.parentConstraint !== 'ALLOWED') problems.push({ field: 'device_type_id', problem: 'this type does not allow a parent' })
    }
  }
  if (facts.hasChildren && type.childConstraint !== 'ALLOWED') {
    problems.push({ field: 'device_type_id', problem: 'the thing has children, and this type does not allow children' })
  }
  if (problems.length > 0) {
    throw new ValidationError(`The device hierarchy does not allow this: ${problems.map((p) => `${p.field} ${p.problem}`).join('; ')}`, problems, 'hierarchy_violation')
  }
}

const outcomeEventType = {
  delivered: 'CommandDelivered',
  acknowledged: 'CommandAcknowledged',
  failed: 'CommandFailed',
  timed_out: 'CommandTimedOut',
} as const satisfies Record<CommandOutcome, CommandOutcomeEvent['type']>

/** Outcomes only move forward: a late "delivered" after "acknowledged" changes nothing. */
const stateRank: Record<CommandState, number> = { requested: 0, delivered: 1, acknowledged: 2, failed: 2, timed_out: 2 }

function notFound(thingId: string): NotFoundError {
  return new NotFoundError(`Thing ${thingId} not found`, 'thing_not_found')
}

function existing(state: ThingState, thingId: string, accountId: string): ExistingThing {
  if (!state.exists || state.accountId !== accountId) throw notFound(thingId)
  return state
}

export const thingDecider: Decider<ThingState, ThingCommand, ThingEvent> = {
  initialState: { exists: false },

  decide(command, state, now) {
    const at = now.toISOString()
    switch (command.type) {
      case 'CreateThing': {
        if (state.exists) throw new ConflictError(`Thing ${command.data.thingId} already exists`, 'thing_exists')
        const { hierarchy, ...data } = command.data
        checkHierarchy(data.thingId, data.parentId, hierarchy)
        return [{ type: 'ThingCreated', data: { ...data, createdAt: at } }]
      }
      case 'PairThing': {
        if (state.exists) {
          throw new ConflictError(`The device ${command.data.hardwareId} is already paired`, 'already_paired')
        }
        return [{ type: 'ThingPaired', data: { ...command.data, pairedAt: at } }]
      }
      case 'UpdateThing': {
        const thing = existing(state, command.data.thingId, command.data.accountId)
        const changes = effectiveChanges(thing, command.data.changes)
        if (Object.keys(changes).length === 0) return []
        if (changes.deviceTypeId !== undefined || changes.parentId !== undefined) {
          checkHierarchy(thing.thingId, changes.parentId === undefined ? thing.parentId : changes.parentId, command.data.hierarchy)
        }
        return [{ type: 'ThingUpdated', data: { thingId: thing.thingId, changes, updatedAt: at } }]
      }
      case 'DeactivateThing': {
        const thing = existing(state, command.data.thingId, command.data.accountId)
        if (thing.status === 'DEACTIVATED') return []
        return [{ type: 'ThingDeactivated', data: { thingId: thing.thingId, deactivatedAt: at } }]
      }
      case 'RequestCommand': {
        const thing = existing(state, command.data.thingId, command.data.accountId)
        if (thing.status !== 'ACTIVE') {
          throw new ConflictError(`Thing ${thing.thingId} is ${thing.status}: it takes no commands`, 'thing_not_active')
        }
        const { accountId: _account, ...data } = command.data
        return [{ type: 'CommandRequested', data: { ...data, seq: thing.lastCommandSeq + 1, requestedAt: at } }]
      }
      case 'RecordCommandOutcome': {
        if (!state.exists) throw notFound(command.data.thingId)
        const current = state.commandStates[command.data.seq]
        if (current === undefined) {
          throw new NotFoundError(`Thing ${state.thingId} has no command ${command.data.seq}`, 'command_not_found')
        }
        if (stateRank[command.data.outcome] <= stateRank[current]) return []
        return [
          {
            type: outcomeEventType[command.data.outcome],
            data: { thingId: state.thingId, seq: command.data.seq, at, reason: command.data.reason },
          },
        ]
      }
      default:
        return unreachable(command)
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'ThingCreated': {
        const { createdAt, ...data } = event.data
        return { exists: true, ...data, hardwareId: null, createdAt, updatedAt: createdAt, lastCommandSeq: 0, commandStates: {} }
      }
      case 'ThingPaired': {
        const data = event.data
        return {
          exists: true,
          thingId: data.thingId,
          accountId: data.accountId,
          name: data.name,
          deviceTypeId: data.deviceTypeId,
          parentId: null,
          properties: {},
          active: 1,
          status: 'ACTIVE',
          hardwareId: data.hardwareId,
          createdAt: data.pairedAt,
          updatedAt: data.pairedAt,
          lastCommandSeq: 0,
          commandStates: {},
        }
      }
      case 'ThingUpdated':
        if (!state.exists) return state
        return { ...state, ...event.data.changes, updatedAt: event.data.updatedAt }
      case 'ThingDeactivated':
        if (!state.exists) return state
        return { ...state, status: 'DEACTIVATED', active: 0, updatedAt: event.data.deactivatedAt }
      case 'CommandRequested':
        if (!state.exists) return state
        return { ...state, lastCommandSeq: event.data.seq, commandStates: { ...state.commandStates, [event.data.seq]: 'requested' } }
      case 'CommandDelivered':
      case 'CommandAcknowledged':
      case 'CommandFailed':
      case 'CommandTimedOut': {
        if (!state.exists) return state
        return { ...state, commandStates: { ...state.commandStates, [event.data.seq]: commandStateOf(event.type) } }
      }
      default:
        return unreachable(event)
    }
  },
}

export function commandStateOf(type: CommandOutcomeEvent['type']): CommandOutcome {
  switch (type) {
    case 'CommandDelivered':
      return 'delivered'
    case 'CommandAcknowledged':
      return 'acknowledged'
    case 'CommandFailed':
      return 'failed'
    case 'CommandTimedOut':
      return 'timed_out'
    default:
      return unreachable(type)
  }
}
