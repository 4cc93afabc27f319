/**
 * Rules: when a thing's reading makes a condition true, act (command a device, notify,
 * push over HTTP). Stream `rule-<id>` holds the rule's definition and its firing facts,
 * so whether it is armed is a fold of its own history: a restart neither misses nor
 * repeats a fire.
 *
 * Edge-triggered: an armed rule fires when its condition holds, and is disarmed until a
 * reading makes the condition false again (`RuleRearmed`). With `cooldown_seconds`, an
 * armed rule whose condition holds within that time after its last fire (by reading
 * time) stays armed and fires at the first reading after the cooldown that still holds.
 * A reading whose key is not newer than the last one the rule recorded for that thing
 * is a redelivery and changes nothing. A disabled rule evaluates nothing; enabling it, or
 * changing its triggers, starts it afresh: armed, no trigger holding.
 */
import { unreachable, type Command, type Decider, type DomainEvent } from '../decider.ts'
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts'
import type { Effects, RuleTriggered, TriggeringReading } from '../automation/effects.ts'
import { evaluateConditions, numericRangeOf, rangeHolds, rangeMeets, triggerConcerns, triggerHolds, type Trigger, type TriggersCondition } from './conditions.ts'

export interface RuleDefinition extends Effects {
  readonly title: string
  readonly enabled: boolean
  readonly triggers: readonly Trigger[]
  readonly triggersCondition: TriggersCondition
  /** null: no cooldown */
  readonly cooldownSeconds: number | null
}

export const ruleStreamName = (ruleId: string): string => `rule-${ruleId}`

// Events ------------------------------------------------------------------------------

export type RuleCreated = DomainEvent<
  'RuleCreated',
  { readonly ruleId: string; readonly accountId: string; readonly definition: RuleDefinition; readonly createdAt: string }
>

/** carries the whole definition after the change */
export type RuleUpdated = DomainEvent<
  'RuleUpdated',
  { readonly ruleId: string; readonly definition: RuleDefinition; readonly updatedAt: string }
>

export type RuleDeleted = DomainEvent<'RuleDeleted', { readonly ruleId: string; readonly deletedAt: string }>

/** The condition became false after a fire: the rule can fire again. */
export type RuleRearmed = DomainEvent<
  'RuleRearmed',
  { readonly ruleId: string; readonly reading: TriggeringReading; readonly rearmedAt: string }
>

/**
 * One trigger of a rule with several changed whether it holds, and the rule's condition
 * did not change with it: kept so the combined condition survives a restart.
 */
export type RuleTriggerChanged = DomainEvent<
  'RuleTriggerChanged',
  { readonly ruleId: string; readonly reading: TriggeringReading; readonly evaluatedAt: string }
>

export type RuleEvent = RuleCreated | RuleUpdated | RuleDeleted | RuleTriggered | RuleRearmed | RuleTriggerChanged

export const ruleEventTypes = [
  'RuleCreated',
  'RuleUpdated',
  'RuleDeleted',
  'RuleTriggered',
  'RuleRearmed',
  'RuleTriggerChanged',
] as const satisfies readonly RuleEvent['type'][]

// Commands ----------------------------------------------------------------------------

export type CreateRule = Command<
  'CreateRule',
  { readonly ruleId: string; readonly accountId: string; readonly definition: RuleDefinition }
>

/** fields present in `changes` replace the rule's; absent ones stay */
export type UpdateRule = Command<
  'UpdateRule',
  { readonly ruleId: string; readonly accountId: string; readonly changes: Partial<RuleDefinition> }
>

export type DeleteRule = Command<'DeleteRule', { readonly ruleId: string; readonly accountId: string }>

/** A reading of one of the rule's trigger things arrived. */
export type RecordEvaluation = Command<'RecordEvaluation', { readonly ruleId: string; readonly reading: TriggeringReading }>

export type RuleCommand = CreateRule | UpdateRule | DeleteRule | RecordEvaluation

// State -------------------------------------------------------------------------------

export interface ExistingRule {
  readonly status: 'active'
  readonly ruleId: string
  readonly accountId: string
  readonly definition: RuleDefinition
  readonly createdAt: string
  readonly updatedAt: string
  /** may fire: it has not fired yet, or its condition was false since it last did */
  readonly armed: boolean
  /** reading time of the last fire (what the cooldown counts from) */
  readonly lastFiredAt: string | null
  /** whether each trigger held at its last reading, index by index with the triggers */
  readonly holding: readonly boolean[]
  /** thing id → key of the last reading of it the rule recorded */
  readonly lastKeys: { readonly [thingId: string]: string }
}

export type RuleState =
  | { readonly status: 'none' }
  | ExistingRule
  | { readonly status: 'deleted'; readonly ruleId: string; readonly accountId: string }

/** Keys are `<partition>:<offset>:<index>`; each part compares as a number. */
export function keyIsNewer(key: string, last: string | undefined): boolean {
  if (last === undefined) return true
  // runs for every rule on every reading: the common keys are compared without allocating
  const order = compareNumberedKeys(key, last)
  if (order !== null) return order > 0
  const a = key.split(':').map(Number)
  const b = last.split(':').map(Number)
  if (a.some(Number.isNaN) || b.some(Number.isNaN) || a.length !== b.length) return key > last
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return a[i]! > b[i]!
  }
  return false
}

/**
 * The sign of `a` against `b`, part by part, when both are as many colon-separated runs
 * of digits; null for anything else.
 */
function compareNumberedKeys(a: string, b: string): number | null {
  let i = 0
  let j = 0
  let order = 0
  for (;;) {
    let x = 0
    let y = 0
    const startA = i
    const startB = j
    for (let c = a.charCodeAt(i); i < a.length && c !== 58; c = a.charCodeAt(++i)) {
      if (c < 48 || c > 57) return null
      x = x * 10 + (c - 48)
    }
    for (let c = b.charCodeAt(j); j < b.length && c !== 58; c = b.charCodeAt(++j)) {
      if (c < 48 || c > 57) return null
      y = y * 10 + (c - 48)
    }
    if (i === startA || j === startB || i - startA > 15 || j - startB > 15) return null
    if (order === 0 && x !== y) order = x > y ? 1 : -1
    if (i === a.length || j === b.length) return i === a.length && j === b.length ? order : null
    i++
    j++
  }
}

function checkDefinition(definition: RuleDefinition): void {
  if (definition.triggers.length === 0) {
    throw new ValidationError('A rule needs at least one trigger', [{ field: 'triggers', problem: 'must have at least 1 item' }])
  }
  if (definition.cooldownSeconds !== null && !(definition.cooldownSeconds >= 0)) {
    throw new ValidationError('cooldown_seconds must not be negative', [{ field: 'cooldown_seconds', problem: 'must be at least 0' }])
  }
}

/** Only these make the armed state and the triggers' truths meaningless. */
function startsAfresh(before: RuleDefinition, after: RuleDefinition): boolean {
  return (
    (!before.enabled && after.enabled) ||
    before.triggersCondition !== after.triggersCondition ||
    JSON.stringify(before.triggers) !== JSON.stringify(after.triggers)
  )
}

function cooledDown(rule: ExistingRule, at: string): boolean {
  const cooldown = rule.definition.cooldownSeconds
  if (!cooldown || rule.lastFiredAt === null) return true
  return Date.parse(at) - Date.parse(rule.lastFiredAt) >= cooldown * 1000
}

function existingOf(state: RuleState, ruleId: string, accountId: string): ExistingRule {
  if (state.status !== 'active' || state.accountId !== accountId) {
    throw new NotFoundError(`Rule ${ruleId} not found`, 'rule_not_found')
  }
  return state
}

/** What a reading decides for a rule: it fires it, re-arms it, changes a trigger's truth, or nothing (null). */
export type EvaluationOutcome = 'fires' | 'rearms' | 'triggerChanged' | null

/**
 * The outcome of a reading for the rule, building nothing (a rule engine asks this of every
 * rule on every reading, and nearly always hears null); `decide` turns it into the event.
 */
function evaluationOutcome(rule: ExistingRule, reading: TriggeringReading): EvaluationOutcome {
  return isUnseenReading(rule, reading) ? outcomeOfUnseenReading(rule, reading) : null
}

/** Whether the rule has not seen the reading yet: a redelivered one it has (keys grow within a thing). */
export function isUnseenReading(rule: ExistingRule, reading: TriggeringReading): boolean {
  return keyIsNewer(reading.key, rule.lastKeys[reading.thingId])
}

/** `evaluationOutcome` of a reading known to be unseen (isUnseenReading). */
export function outcomeOfUnseenReading(rule: ExistingRule, reading: TriggeringReading): EvaluationOutcome {
  if (!rule.definition.enabled) return null
  const { triggers } = rule.definition
  let holds: boolean
  let triggerChanged: boolean
  if (triggers.length === 1) {
    // most rules have one trigger: its truth is the rule's, and no evaluation is built
    const trigger = triggers[0]!
    if (!triggerConcerns(trigger, reading)) return null
    holds = triggerHolds(trigger, reading.value as string | number)
    triggerChanged = false
  } else {
    const evaluation = evaluateConditions(rule.definition, rule.holding, reading)
    if (evaluation.concerned.length === 0) return null
    holds = evaluation.holds
    triggerChanged = evaluation.holding.some((holding, i) => holding !== rule.holding[i])
  }
  if (rule.armed && holds && cooledDown(rule, reading.at)) return 'fires'
  if (!rule.armed && !holds) return 'rearms'
  return triggerChanged ? 'triggerChanged' : null
}

/**
 * A run of readings of one thing and channel in one unit, all single numbers, in key order:
 * what a rule needs of them to tell at once that none of them changes it (spanChangesNothing).
 */
export interface ReadingsSpan {
  readonly thingId: string
  readonly channel: string
  readonly unit: string | null
  readonly least: number
  readonly greatest: number
  readonly firstKey: string
  readonly lastKey: string
}

/** The span of readings (in key order); null when they are not all single finite numbers of one thing, channel and unit. */
export function spanOf(readings: readonly TriggeringReading[]): ReadingsSpan | null {
  const first = readings[0]
  if (first === undefined) return null
  const { thingId, channel, unit } = first
  let least = Infinity
  let greatest = -Infinity
  for (const reading of readings) {
    const value = reading.value
    if (typeof value !== 'number' || value - value !== 0) return null
    if (reading.thingId !== thingId || reading.channel !== channel || reading.unit !== unit) return null
    if (value < least) least = value
    if (value > greatest) greatest = value
  }
  return { thingId, channel, unit, least, greatest, firstKey: first.key, lastKey: readings[readings.length - 1]!.key }
}

/**
 * True when no reading of the span can decide an event of the rule; false when one may
 * (then each is decided in full). A one-trigger rule whose conditions are numeric holds
 * for a range of numbers: armed, only a reading in it can fire the rule; disarmed, only
 * one out of it can re-arm it. So the span's least and greatest reading answer for all of
 * them, and a batch of readings costs a rule one comparison, not one per reading.
 */
export function spanChangesNothing(rule: ExistingRule, span: ReadingsSpan): boolean {
  if (!rule.definition.enabled) return true
  const last = rule.lastKeys[span.thingId]
  // keys grow within a thing: all seen, or all unseen, or (a redelivery) unsure
  if (!keyIsNewer(span.lastKey, last)) return true
  if (!keyIsNewer(span.firstKey, last)) return false
  const { triggers } = rule.definition
  if (triggers.length !== 1) return false
  const trigger = triggers[0]!
  if (!triggerConcerns(trigger, { thingId: span.thingId, channel: span.channel, unit: span.unit, value: span.least })) return true
  const range = numericRangeOf(trigger)
  if (range === null) return false
  return rule.armed ? !rangeMeets(range, span.least, span.greatest) : rangeHolds(range, span.least, span.greatest)
}

function decideEvaluation(rule: ExistingRule, reading: TriggeringReading, now: Date): RuleEvent[] {
  const outcome = evaluationOutcome(rule, reading)
  switch (outcome) {
    case 'fires': {
      const { title, actions, notifications, httpPush } = rule.definition
      return [
        {
          type: 'RuleTriggered',
          data: {
            ruleId: rule.ruleId,
            accountId: rule.accountId,
            title,
            reading,
            effects: { actions, notifications, httpPush },
            triggeredAt: now.toISOString(),
          },
        },
      ]
    }
    case 'rearms':
      return [{ type: 'RuleRearmed', data: { ruleId: rule.ruleId, reading, rearmedAt: now.toISOString() } }]
    case 'triggerChanged':
      return [{ type: 'RuleTriggerChanged', data: { ruleId: rule.ruleId, reading, evaluatedAt: now.toISOString() } }]
    case null:
      return []
    default:
      return unreachable(outcome)
  }
}

/** What a recorded reading changes in the rule's memory of its triggers. */
function afterReading(rule: ExistingRule, reading: TriggeringReading): Pick<ExistingRule, 'holding' | 'lastKeys'> {
  return {
    holding: evaluateConditions(rule.definition, rule.holding, reading).holding,
    lastKeys: { ...rule.lastKeys, [reading.thingId]: reading.key },
  }
}

export const ruleDecider: Decider<RuleState, RuleCommand, RuleEvent> = {
  initialState: { status: 'none' },

  decide(command, state, now) {
    switch (command.type) {
      case 'CreateRule': {
        const { ruleId, accountId, definition } = command.data
        if (state.status !== 'none') {
          const retry =
            state.status === 'active' &&
            state.accountId === accountId &&
            JSON.stringify(state.definition) === JSON.stringify(definition)
          if (retry) return []
          throw new ConflictError(`Rule ${ruleId} already exists`, 'rule_exists')
        }
        checkDefinition(definition)
        return [{ type: 'RuleCreated', data: { ruleId, accountId, definition, createdAt: now.toISOString() } }]
      }
      case 'UpdateRule': {
        const rule = existingOf(state, command.data.ruleId, command.data.accountId)
        const present = Object.entries(command.data.changes).filter(([, value]) => value !== undefined)
        const definition: RuleDefinition = { ...rule.definition, ...Object.fromEntries(present) }
        if (JSON.stringify(definition) === JSON.stringify(rule.definition)) return []
        checkDefinition(definition)
        return [{ type: 'RuleUpdated', data: { ruleId: rule.ruleId, definition, updatedAt: now.toISOString() } }]
      }
      case 'DeleteRule': {
        const rule = existingOf(state, command.data.ruleId, command.data.accountId)
        return [{ type: 'RuleDeleted', data: { ruleId: rule.ruleId, deletedAt: now.toISOString() } }]
      }
      case 'RecordEvaluation':
        // A rule deleted meanwhile has nothing left to evaluate.
        return state.status === 'active' ? decideEvaluation(state, command.data.reading, now) : []
      default:
        return unreachable(command)
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'RuleCreated': {
        const { ruleId, accountId, definition, createdAt } = event.data
        return {
          status: 'active',
          ruleId,
          accountId,
          definition,
          createdAt,
          updatedAt: createdAt,
          armed: true,
          lastFiredAt: null,
          holding: definition.triggers.map(() => false),
          lastKeys: {},
        }
      }
      case 'RuleUpdated': {
        if (state.status !== 'active') return state
        const { definition, updatedAt } = event.data
        const fresh = startsAfresh(state.definition, definition)
        return {
          ...state,
          definition,
          updatedAt,
          ...(fresh ? { armed: true, holding: definition.triggers.map(() => false) } : {}),
        }
      }
      case 'RuleDeleted':
        if (state.status !== 'active') return state
        return { status: 'deleted', ruleId: state.ruleId, accountId: state.accountId }
      case 'RuleTriggered':
        if (state.status !== 'active') return state
        return { ...state, ...afterReading(state, event.data.reading), armed: false, lastFiredAt: event.data.reading.at }
      case 'RuleRearmed':
        if (state.status !== 'active') return state
        return { ...state, ...afterReading(state, event.data.reading), armed: true }
      case 'RuleTriggerChanged':
        if (state.status !== 'active') return state
        return { ...state, ...afterReading(state, event.data.reading) }
      default:
        return unreachable(event)
    }
  },
}
