/**
 * What a rule would have done with past readings: the same decisions as live evaluation
 * (edges, re-arming, cooldown by reading time, redeliveries skipped), starting armed,
 * with nothing written. Each reading's own time stands in for the clock. The rule is
 * evaluated as if enabled: a what-if asks what it would do when on.
 */
import type { TriggeringReading } from '../automation/effects.ts'
import { triggerConcerns } from './conditions.ts'
import { ruleDecider, type RuleDefinition, type RuleState } from './rule.ts'

export interface WhatIf {
  /** the readings that would have fired the rule, in order */
  readonly fires: readonly TriggeringReading[]
  /** how many readings concerned one of its triggers */
  readonly evaluated: number
}

export function whatIf(
  rule: { readonly ruleId: string; readonly accountId: string; readonly definition: RuleDefinition },
  readings: readonly TriggeringReading[],
): WhatIf {
  const definition: RuleDefinition = { ...rule.definition, enabled: true }
  let state: RuleState = ruleDecider.evolve(ruleDecider.initialState, {
    type: 'RuleCreated',
    data: { ruleId: rule.ruleId, accountId: rule.accountId, definition, createdAt: readings[0]?.at ?? '' },
  })
  const fires: TriggeringReading[] = []
  let evaluated = 0
  for (const reading of readings) {
    if (definition.triggers.some((trigger) => triggerConcerns(trigger, reading))) evaluated += 1
    const events = ruleDecider.decide({ type: 'RecordEvaluation', data: { ruleId: rule.ruleId, reading } }, state, new Date(reading.at))
    for (const event of events) {
      if (event.type === 'RuleTriggered') fires.push(event.data.reading)
      state = ruleDecider.evolve(state, event)
    }
  }
  return { fires, evaluated }
}
