/**
 * POST /v1.1/rules/{rule_id}/simulate and /v1.1/rules/simulate: the readings recorded in
 * the trigger things' telemetry streams within the range (as corrected by a re-decode),
 * in the order they were recorded, through the rule's evaluation (domain/rule/what-if.ts). Reads only.
 */
import type { TriggeringReading } from '../../domain/automation/effects.ts'
import type { RuleDefinition } from '../../domain/rule/rule.ts'
import { whatIf, type WhatIf } from '../../domain/rule/what-if.ts'
import { readingsOf, type CurrentReading } from '../../domain/telemetry/corrections.ts'
import { telemetryStreamOf } from '../../domain/telemetry/telemetry.ts'
import type { EventStore } from '../../domain/ports/event-store.ts'

export async function simulateRule(
  rule: { readonly ruleId: string; readonly accountId: string; readonly definition: RuleDefinition },
  range: { readonly from: string; readonly to: string },
  eventStore: EventStore,
): Promise<WhatIf> {
  const from = Date.parse(range.from)
  const to = Date.parse(range.to)
  const thingIds = [...new Set(rule.definition.triggers.map((t) => t.thingId))]
  const recorded: CurrentReading[] = []
  for (const thingId of thingIds) {
    // each reading as its last correction (re-decode) left it
    for (const reading of readingsOf(await eventStore.readStream(telemetryStreamOf(thingId))).values()) {
      const at = Date.parse(reading.at)
      if (at >= from && at <= to) recorded.push(reading)
    }
  }
  recorded.sort((a, b) => a.position - b.position || (a.index ?? 0) - (b.index ?? 0))
  const readings: TriggeringReading[] = recorded.map((data) => ({
    key: data.key,
    thingId: data.thingId,
    channel: data.channel,
    type: data.type,
    unit: data.unit,
    value: data.value,
    at: data.at,
  }))
  return whatIf(rule, readings)
}
