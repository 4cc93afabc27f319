/**
 * Read model `deliveries`: one document per delivery (a device command, e-mail, SMS or
 * HTTP push a rule or job asked for) with its attempts, indexed by account and status
 * for GET /v1.1/deliveries, by the causing event for a run's outcomes, and read by the
 * retry scheduler for the attempts that are due.
 */
import type {
  AttemptOutcome,
  DeliveryChannel,
  DeliveryEvent,
  DeliveryRequested,
  DeliveryStatus,
  EffectKind,
} from '../domain/delivery/delivery.ts'
import { unreachable } from '../domain/decider.ts'
import { deliveryEventTypes } from '../domain/delivery/delivery.ts'
import type { JsonValue } from '../domain/thing/thing.ts'
import { projection } from './projection.ts'
import type { ReadStore } from '../domain/ports/read-store.ts'

export interface DeliveryAttemptView {
  readonly attempt: number
  readonly outcome: AttemptOutcome
  readonly status_code: number | null
  readonly error: string | null
  readonly duration_ms: number
  readonly at: string
}

export type DeliveryRequestView =
  | { readonly thing_id: string; readonly channel: string; readonly value: string | number | boolean; readonly unit: string | null }
  | { readonly to: string; readonly body: string | null }
  | { readonly method: string; readonly url: string; readonly headers: { readonly [name: string]: string }; readonly payload: JsonValue | null }

export interface DeliveryView {
  readonly id: string
  readonly status: DeliveryStatus
  readonly channel: DeliveryChannel
  readonly target: string
  readonly request: DeliveryRequestView
  readonly cause: {
    readonly type: 'rule' | 'job'
    readonly id: string
    readonly event_id: string
    readonly title: string
    /** e.g. `notifications[1]`: which of the rule's or job's effects this is */
    readonly effect: string
  }
  readonly attempts: readonly DeliveryAttemptView[]
  readonly max_attempts: number
  readonly next_attempt_at: string | null
  readonly reason: string | null
  readonly requested_at: string
  readonly updated_at: string
}

export type DeliveryDocument = DeliveryView & {
  readonly account_id: string
  readonly cause_event_id: string
  /** position of the effect in its event, for listing a run's deliveries in order */
  readonly effect_order: number
  readonly [field: string]: unknown
}

const effectArrays: Record<EffectKind, { readonly name: string; readonly order: number }> = {
  action: { name: 'actions', order: 0 },
  notification: { name: 'notifications', order: 1 },
  http_push: { name: 'http_push', order: 2 },
}

function requestViewOf(data: DeliveryRequested['data']): DeliveryRequestView {
  switch (data.channel) {
    case 'command': {
      const r = data.request
      return { thing_id: r.thingId, channel: r.channel, value: r.value, unit: r.unit }
    }
    case 'email':
    case 'sms':
      return { to: data.request.to, body: data.request.body }
    case 'http_push': {
      const r = data.request
      return { method: r.method, url: r.url, headers: r.headers, payload: r.payload }
    }
    default:
      return unreachable(data)
  }
}

export const deliveriesProjection = projection<DeliveryEvent, DeliveryDocument>({
  name: 'deliveries',
  version: 1,
  collection: 'deliveries',
  indexes: ['account_id', 'status', 'cause_event_id'],
  canHandle: deliveryEventTypes,
  documentId: (event) => event.data.deliveryId,
  evolve(document, event) {
    if (event.type === 'DeliveryRequested') {
      const d = event.data
      const effect = effectArrays[d.cause.effect.kind]
      return {
        id: d.deliveryId,
        status: 'pending',
        channel: d.channel,
        target: d.target,
        request: requestViewOf(d),
        cause: { type: d.cause.type, id: d.cause.id, event_id: d.cause.eventId, title: d.cause.title, effect: `${effect.name}[${d.cause.effect.index}]` },
        attempts: [],
        max_attempts: d.maxAttempts,
        next_attempt_at: d.requestedAt,
        reason: null,
        requested_at: d.requestedAt,
        updated_at: d.requestedAt,
        account_id: d.accountId,
        cause_event_id: d.cause.eventId,
        effect_order: effect.order * 1_000_000 + d.cause.effect.index,
      }
    }
    if (!document) return null
    switch (event.type) {
      case 'DeliveryAttempted': {
        const d = event.data
        const attempt = { attempt: d.attempt, outcome: d.outcome, status_code: d.statusCode, error: d.error, duration_ms: d.durationMs, at: d.at }
        return { ...document, attempts: [...document.attempts, attempt], updated_at: d.at }
      }
      case 'DeliverySucceeded':
        return { ...document, status: 'succeeded', next_attempt_at: null, reason: null, updated_at: event.data.at }
      case 'DeliveryFailed':
        return { ...document, status: 'failed', next_attempt_at: event.data.retryAt, updated_at: event.data.at }
      case 'DeliveryDeadLettered':
        return { ...document, status: 'dead', next_attempt_at: null, reason: event.data.reason, updated_at: event.data.at }
      case 'DeliveryUndeliverable':
        return { ...document, status: 'undeliverable', next_attempt_at: null, reason: event.data.reason, updated_at: event.data.at }
      case 'DeliveryRetryRequested':
        return { ...document, status: 'pending', next_attempt_at: event.data.at, reason: null, updated_at: event.data.at }
    }
  },
})

// Queries -----------------------------------------------------------------------------

const collectionOf = (readStore: ReadStore) => readStore.collection<DeliveryDocument>(deliveriesProjection.collection)

/** Internal fields never leave the server. */
export function toDeliveryView(document: DeliveryDocument): DeliveryView {
  return {
    id: document.id,
    status: document.status,
    channel: document.channel,
    target: document.target,
    request: document.request,
    cause: document.cause,
    attempts: document.attempts,
    max_attempts: document.max_attempts,
    next_attempt_at: document.next_attempt_at,
    reason: document.reason,
    requested_at: document.requested_at,
    updated_at: document.updated_at,
  }
}

/** The account's deliveries, newest first, optionally of one status. */
export function deliveriesOf(
  readStore: ReadStore,
  accountId: string,
  options: { readonly status?: DeliveryStatus; readonly limit: number; readonly offset: number },
): Promise<DeliveryDocument[]> {
  const filter: Record<string, string> = { account_id: accountId }
  if (options.status !== undefined) filter.status = options.status
  return collectionOf(readStore).find(filter, { orderBy: 'requested_at', descending: true, limit: options.limit, offset: options.offset })
}

/** The account's delivery; another account's is "not found". */
export async function deliveryOfAccount(readStore: ReadStore, accountId: string, deliveryId: string): Promise<DeliveryDocument | undefined> {
  const document = await collectionOf(readStore).get(deliveryId)
  return document && document.account_id === accountId ? document : undefined
}

/** What one rule fire or job run (its RuleTriggered or JobFired event id) led to, in the order of its effects. */
export function deliveriesCausedBy(readStore: ReadStore, eventId: string): Promise<DeliveryDocument[]> {
  return collectionOf(readStore).find({ cause_event_id: eventId }, { orderBy: 'effect_order' })
}

/**
 * Deliveries with an attempt due by `now` (at most `limit`), and when the next one after
 * them comes due (null: none scheduled, as far as the first `limit` go).
 */
export async function deliveriesDue(readStore: ReadStore, now: Date, limit: number): Promise<{ due: DeliveryDocument[]; next: string | null }> {
  const scheduled = await collectionOf(readStore).find({ status: ['pending', 'failed'] }, { orderBy: 'next_attempt_at', limit })
  const at = now.toISOString()
  const due = scheduled.filter((d) => d.next_attempt_at !== null && d.next_attempt_at <= at)
  const later = scheduled.find((d) => d.next_attempt_at !== null && d.next_attempt_at > at)
  return { due, next: later?.next_attempt_at ?? null }
}
