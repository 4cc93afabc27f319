/**
 * A thing's history for auditors, read from the event log itself (the source of truth,
 * not a read model): the device's provisioning (who registered it, in which batch), then
 * every event of its own stream (paired by whom, updated, deactivated, commands), each
 * with its time, actor, account, client and request. Secrets never appear: any field
 * whose name says secret, password, token or hash is masked. The HTTP endpoint and
 * `capsicum replay --thing` both read it from here.
 */
import { foldRecorded } from '../../domain/fold-events.ts'
import { provisioningStreamName } from '../../domain/provisioning/provisioning.ts'
import { telemetryEventTypes, telemetryStreamOf } from '../../domain/telemetry/telemetry.ts'
import { thingDecider, thingStreamName, type ExistingThing } from '../../domain/thing/thing.ts'

/** Whether a history's type filter asks for events of the telemetry stream. */
export const asksForTelemetry = (types: readonly string[] | undefined): boolean =>
  types !== undefined && types.some((type) => (telemetryEventTypes as readonly string[]).includes(type))
import type { EventStore, RecordedEvent } from '../../domain/ports/event-store.ts'

export interface HistoryEntry {
  readonly stream: string
  readonly revision: number
  readonly position: number
  readonly type: string
  readonly time: string
  readonly actor: { readonly type: string; readonly id: string }
  readonly account_id: string | null
  readonly client_id: string | null
  readonly correlation_id: string
  readonly data: Record<string, unknown>
}

export interface HistoryFilter {
  readonly from?: string
  readonly to?: string
  readonly types?: readonly string[]
  /** return events strictly after this log position */
  readonly after?: number
  readonly limit?: number
}

const secretName = /secret|password|token|hash/i

/** The value with every field whose name says secret, password, token or hash masked (the history and the audit export). */
export function masked(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(masked)
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, secretName.test(key) ? '[redacted]' : masked(inner)]))
}

/**
 * Every event about the thing, in log order (its provisioning first). With `telemetry`,
 * also the events of its telemetry stream (readings and their corrections): only when
 * asked for, as there can be millions.
 */
export async function thingEvents(eventStore: EventStore, thingId: string, options: { readonly telemetry?: boolean } = {}): Promise<RecordedEvent[]> {
  const own = await eventStore.readStream(thingStreamName(thingId))
  const telemetry = options.telemetry ? await eventStore.readStream(telemetryStreamOf(thingId)) : []
  const paired = own.find((event) => event.type === 'ThingPaired')
  const batchId = paired ? (paired.data as { batchId?: unknown }).batchId : undefined
  const provisioning =
    typeof batchId === 'string'
      ? (await eventStore.readStream(provisioningStreamName(batchId))).filter(
          (event) => event.type === 'DeviceProvisioned' && (event.data as { thingId?: unknown }).thingId === thingId,
        )
      : []
  return [...provisioning, ...own, ...telemetry].sort((a, b) => a.position - b.position)
}

export function toHistoryEntry(event: RecordedEvent): HistoryEntry {
  const { metadata } = event
  return {
    stream: event.streamName,
    revision: event.revision,
    position: event.position,
    type: event.type,
    time: metadata.time,
    actor: { type: metadata.actor.type, id: metadata.actor.id },
    account_id: metadata.account_id,
    client_id: metadata.client_id,
    correlation_id: metadata.correlation_id,
    data: masked(event.data) as Record<string, unknown>,
  }
}

const timeOf = (iso: string): number => Date.parse(iso)

/** Filters and pages the history; `next` is the cursor for the following page, null at the end. */
export function filterHistory(events: readonly RecordedEvent[], filter: HistoryFilter): { entries: RecordedEvent[]; next: number | null } {
  const from = filter.from === undefined ? -Infinity : timeOf(filter.from)
  const to = filter.to === undefined ? Infinity : timeOf(filter.to)
  const types = filter.types && filter.types.length > 0 ? new Set(filter.types) : undefined
  const matching = events.filter((event) => {
    const time = timeOf(event.metadata.time)
    return (
      time >= from &&
      time <= to &&
      (types === undefined || types.has(event.type)) &&
      (filter.after === undefined || event.position > filter.after)
    )
  })
  const limit = filter.limit ?? Infinity
  const entries = matching.slice(0, limit)
  const next = matching.length > entries.length ? entries[entries.length - 1]!.position : null
  return { entries, next }
}

/** The thing as it was at `asOf`: its own events up to that moment, folded. Undefined if it did not exist yet. */
export function thingAsOf(events: readonly RecordedEvent[], thingId: string, asOf: string): ExistingThing | undefined {
  const limit = timeOf(asOf)
  const own = events.filter((event) => event.streamName === thingStreamName(thingId) && timeOf(event.metadata.time) <= limit)
  const state = foldRecorded(thingDecider, own)
  return state.exists ? state : undefined
}
