/** A stream's events as a timeline an auditor can read: when, what, who, on whose behalf. */
import type { RecordedEvent } from '../../domain/ports/event-store.ts'

function describeValue(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? 'undefined'
}

export function formatTimeline(streamName: string, events: readonly RecordedEvent[]): string {
  const lines = [`${streamName}: ${events.length} event${events.length === 1 ? '' : 's'}`, '']
  for (const event of events) {
    const { actor, account_id, client_id, correlation_id, time } = event.metadata
    const via = client_id ? ` via client ${client_id}` : ''
    const account = account_id ? ` for account ${account_id}` : ''
    lines.push(`#${event.revision}  ${time}  ${event.type}`)
    lines.push(`    by ${actor.type} ${actor.id}${account}${via}  (request ${correlation_id}, position ${event.position})`)
    const data = event.data as Record<string, unknown>
    for (const [field, value] of Object.entries(data ?? {})) {
      if (value && typeof value === 'object' && !Array.isArray(value)) {
        for (const [inner, innerValue] of Object.entries(value)) lines.push(`    ${field}.${inner}: ${describeValue(innerValue)}`)
      } else {
        lines.push(`    ${field}: ${describeValue(value)}`)
      }
    }
    lines.push('')
  }
  return `${lines.join('\n')}\n`
}
