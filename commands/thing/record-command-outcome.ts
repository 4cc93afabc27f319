/**
 * What the MQTT side learns about a command (delivered, answered, timed out), recorded on
 * the thing. Outcomes only move forward, so a late or repeated report changes nothing.
 */
import { thingDecider, thingStreamName, type CommandOutcome, type RecordCommandOutcome } from '../../domain/thing/thing.ts'
import type { EventStore } from '../../domain/ports/event-store.ts'
import { handleCommand } from '../handle-command.ts'

export interface CommandOutcomeReport {
  readonly thingId: string
  readonly accountId: string | null
  readonly seq: number
  readonly outcome: CommandOutcome
  readonly reason: string | null
  /** who noticed: `mqtt` (delivery), `command-timeout`, `telemetry` (answers) */
  readonly reporter: string
}

export function recordCommandOutcome(
  deps: { readonly eventStore: EventStore; readonly now: () => Date; readonly newId: () => string },
  report: CommandOutcomeReport,
) {
  const command: RecordCommandOutcome = {
    type: 'RecordCommandOutcome',
    data: { thingId: report.thingId, seq: report.seq, outcome: report.outcome, reason: report.reason },
  }
  const correlation = `command:${report.thingId}:${report.seq}`
  return handleCommand(thingDecider, thingStreamName(report.thingId), command, {
    eventStore: deps.eventStore,
    now: deps.now,
    newId: deps.newId,
    metadata: {
      actor: { type: 'system', id: report.reporter },
      account_id: report.accountId,
      client_id: null,
      correlation_id: correlation,
      causation_id: correlation,
    },
  })
}
