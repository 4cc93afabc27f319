/**
 * When a rule's condition holds: pure comparisons of a reading against a rule's triggers.
 *
 * - A condition compares numerically when both sides read as numbers (`"15"` and `20`
 *   do); otherwise only `eq` and `neq` apply, as exact string equality, and the ordering
 *   operators never hold.
 * - All conditions of one trigger hold together (`gt 15` and `lt 30` is "between").
 * - A trigger concerns a reading of its thing and channel, and, when the trigger names a
 *   unit and the reading carries one, of that unit (case-insensitive): a reading in
 *   another unit is not compared at all.
 * - A multi-value reading (accelerometer x,y,z; GPS lat,lon,alt) is not compared either:
 *   no threshold on one component is implied, so it neither fires nor re-arms a rule.
 * - `any` (the default) holds when one trigger holds, `all` when every one does; a
 *   trigger with no reading yet counts as not holding.
 */
export const comparisonOperators = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte'] as const
export type ComparisonOperator = (typeof comparisonOperators)[number]

export const triggersConditions = ['any', 'all'] as const
export type TriggersCondition = (typeof triggersConditions)[number]

export interface Condition {
  readonly operator: ComparisonOperator
  readonly value: string | number
}

export interface Trigger {
  readonly thingId: string
  readonly channel: string
  readonly unit: string | null
  readonly geofence: boolean
  readonly conditions: readonly Condition[]
}

export type ReadingValue = number | readonly number[] | string

/** What of a reading the evaluation looks at. */
export interface EvaluatedReading {
  readonly thingId: string
  readonly channel: string
  readonly unit: string | null
  readonly value: ReadingValue
}

const numeric = /^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/

/** a value as a number, NaN when it does not read as a finite one (then it compares as text) */
function numberOf(value: string | number): number {
  if (typeof value === 'number') return Number.isFinite(value) ? value : NaN
  return numeric.test(value) ? Number(value) : NaN
}

/** whether `left operator right` holds for two numbers */
function compare(operator: ComparisonOperator, left: number, right: number): boolean {
  switch (operator) {
    case 'eq':
      return left === right
    case 'neq':
      return left !== right
    case 'gt':
      return left > right
    case 'gte':
      return left >= right
    case 'lt':
      return left < right
    case 'lte':
      return left <= right
  }
}

/** a text comparison: only equality means anything */
function textHolds(condition: Condition, value: string | number): boolean {
  const same = String(value).trim() === String(condition.value).trim()
  if (condition.operator === 'eq') return same
  if (condition.operator === 'neq') return !same
  return false
}

/**
 * A trigger's conditions read once, for every reading after: the thresholds as numbers
 * (NaN: a text) in a Float64Array, since a number kept or passed on outside such an array
 * is a heap object V8 allocates on each evaluation; and the range they hold for.
 */
interface ReadConditions {
  readonly thresholds: Float64Array
  readonly range: NumericRange | null
}

const readTriggers = new WeakMap<Trigger, ReadConditions>()

function readConditionsOf(trigger: Trigger): ReadConditions {
  let read = readTriggers.get(trigger)
  if (read === undefined) {
    const thresholds = Float64Array.from(trigger.conditions, (condition) => numberOf(condition.value))
    readTriggers.set(trigger, (read = { thresholds, range: rangeOf(trigger.conditions, thresholds) }))
  }
  return read
}

/** True when the reading is one the trigger is about (thing, channel, unit, a single value). */
export function triggerConcerns(trigger: Trigger, reading: EvaluatedReading): boolean {
  if (trigger.thingId !== reading.thingId || trigger.channel !== reading.channel) return false
  if (Array.isArray(reading.value)) return false
  // the same text (the common case) is compared without making lower-case copies
  return trigger.unit === null || reading.unit === null || trigger.unit === reading.unit || trigger.unit.toLowerCase() === reading.unit.toLowerCase()
}

export function triggerHolds(trigger: Trigger, value: string | number): boolean {
  // the reading read as a number once for all the conditions (NaN: a text, and NaN === NaN
  // is false); written out here, as a number returned from a call is a heap object
  const left = typeof value === 'number' ? value : numeric.test(value) ? Number(value) : NaN
  const finite = left - left === 0
  const { thresholds } = readConditionsOf(trigger)
  const { conditions } = trigger
  for (let i = 0; i < conditions.length; i++) {
    const right = thresholds[i]!
    const condition = conditions[i]!
    if (!(finite && right === right ? compare(condition.operator, left, right) : textHolds(condition, value))) return false
  }
  return true
}

/**
 * The numbers a trigger holds for, when all its conditions are numeric: between `low` and
 * `high` (each included or not), except `excluded` (its `neq` values). Null when a condition
 * compares text. Empty when the conditions contradict each other (low above high).
 */
export interface NumericRange {
  readonly low: number
  readonly lowIncluded: boolean
  readonly high: number
  readonly highIncluded: boolean
  readonly excluded: readonly number[]
}

export function numericRangeOf(trigger: Trigger): NumericRange | null {
  return readConditionsOf(trigger).range
}

function rangeOf(conditions: readonly Condition[], thresholds: Float64Array): NumericRange | null {
  let low = -Infinity
  let lowIncluded = false
  let high = Infinity
  let highIncluded = false
  const excluded: number[] = []
  for (let i = 0; i < conditions.length; i++) {
    const { operator } = conditions[i]!
    const value = thresholds[i]!
    if (value !== value) return null
    if (operator === 'neq') {
      excluded.push(value)
      continue
    }
    // the tighter bound wins; at the same value, an excluding one
    if (operator === 'eq' || operator === 'gt' || operator === 'gte') {
      const included = operator !== 'gt'
      if (value > low) [low, lowIncluded] = [value, included]
      else if (value === low) lowIncluded &&= included
    }
    if (operator === 'eq' || operator === 'lt' || operator === 'lte') {
      const included = operator !== 'lt'
      if (value < high) [high, highIncluded] = [value, included]
      else if (value === high) highIncluded &&= included
    }
  }
  return { low, lowIncluded, high, highIncluded, excluded }
}

/** Whether some number from `least` to `greatest` may be in the range (yes when unsure). */
export function rangeMeets(range: NumericRange, least: number, greatest: number): boolean {
  const aboveLow = greatest > range.low || (range.lowIncluded && greatest === range.low)
  const belowHigh = least < range.high || (range.highIncluded && least === range.high)
  return aboveLow && belowHigh
}

/** Whether every number from `least` to `greatest` is in the range. */
export function rangeHolds(range: NumericRange, least: number, greatest: number): boolean {
  const aboveLow = least > range.low || (range.lowIncluded && least === range.low)
  const belowHigh = greatest < range.high || (range.highIncluded && greatest === range.high)
  return aboveLow && belowHigh && range.excluded.every((value) => value < least || value > greatest)
}

export function combine(triggersCondition: TriggersCondition, holding: readonly boolean[]): boolean {
  return triggersCondition === 'all' ? holding.length > 0 && holding.every(Boolean) : holding.some(Boolean)
}

export interface Evaluation {
  /** indexes of the triggers the reading concerns; empty: the reading says nothing about the rule */
  readonly concerned: readonly number[]
  /** each trigger's truth after the reading (the others keep what they last were) */
  readonly holding: readonly boolean[]
  /** the rule's condition after the reading */
  readonly holds: boolean
}

/**
 * The rule's condition after `reading`, given what each trigger last was (`holding`,
 * index by index with `triggers`).
 */
export function evaluateConditions(
  rule: { readonly triggers: readonly Trigger[]; readonly triggersCondition: TriggersCondition },
  holding: readonly boolean[],
  reading: EvaluatedReading,
): Evaluation {
  // loops, not map and closures: this runs for every rule a reading concerns
  const concerned: number[] = []
  const next: boolean[] = []
  const { triggers } = rule
  for (let i = 0; i < triggers.length; i++) {
    const trigger = triggers[i]!
    if (triggerConcerns(trigger, reading)) {
      concerned.push(i)
      next.push(triggerHolds(trigger, reading.value as string | number))
    } else {
      next.push(holding[i] ?? false)
    }
  }
  return { concerned, holding: next, holds: combine(rule.triggersCondition, next) }
}
