/**
 * Deliveries: one per thing a rule or job asked for when it fired (a device command, an
 * e-mail, an SMS, an HTTP push), in stream `delivery-<id>`. The id is a function of the
 * causing event and the effect's place in it, so a redelivered RuleTriggered or JobFired
 * lands on the same delivery and asks for nothing twice. Every attempt is an event: the
 * history says what was sent, to whom, when, and what came back.
 *
 * A failed attempt is retried after a delay that grows with the attempts of the current
 * round (`retryDelayMs`); after `maxAttempts` the delivery is dead-lettered. A manual
 * retry of a dead letter starts a new round.
 */
import { unreachable, type Command, type Decider, type DomainEvent } from '../decider.ts'
import { ConflictError, NotFoundError } from '../errors.ts'
import type { ActionSpec, HttpPushSpec } from '../automation/effects.ts'

export const deliveryChannels = ['command', 'email', 'sms', 'http_push'] as const
export type DeliveryChannel = (typeof deliveryChannels)[number]

/** `pending`: an attempt is due at `nextAttemptAt`; `failed`: the last attempt failed, the next is due then. */
export const deliveryStatuses = ['pending', 'failed', 'succeeded', 'dead', 'undeliverable'] as const
export type DeliveryStatus = (typeof deliveryStatuses)[number]

/** `rejected`: refused by us (SSRF guard) or by the other side for good (4xx): not retried. */
export const attemptOutcomes = ['succeeded', 'failed', 'rejected'] as const
export type AttemptOutcome = (typeof attemptOutcomes)[number]

export const effectKinds = ['action', 'notification', 'http_push'] as const
export type EffectKind = (typeof effectKinds)[number]

/** What a notification reports, fixed when it is requested (thing names as they were then). */
export interface NotificationFacts {
  readonly source: 'rule' | 'job'
  readonly title: string
  /** when the rule fired, or the job's occurrence */
  readonly time: string
  readonly items: readonly {
    readonly thingId: string
    readonly thingName: string
    readonly channel: string
    readonly value: string
    readonly unit: string | null
  }[]
}

export interface MessageRequest {
  /** an e-mail address or a phone number */
  readonly to: string
  /** the rule's own text, when given */
  readonly body: string | null
  readonly facts: NotificationFacts
}

export type DeliveryOrder =
  | { readonly channel: 'command'; readonly request: ActionSpec }
  | { readonly channel: 'email' | 'sms'; readonly request: MessageRequest }
  | { readonly channel: 'http_push'; readonly request: HttpPushSpec }

export interface DeliveryCause {
  readonly type: 'rule' | 'job'
  /** the rule's or job's id */
  readonly id: string
  /** the RuleTriggered or JobFired event */
  readonly eventId: string
  readonly title: string
  readonly effect: { readonly kind: EffectKind; readonly index: number }
}

export interface AttemptResult {
  readonly outcome: AttemptOutcome
  readonly statusCode: number | null
  readonly error: string | null
}

// Events ------------------------------------------------------------------------------

export type DeliveryRequested = DomainEvent<
  'DeliveryRequested',
  DeliveryOrder & {
    readonly deliveryId: string
    readonly accountId: string
    /** whom it goes to: the thing, the address, the number, the URL */
    readonly target: string
    readonly cause: DeliveryCause
    readonly maxAttempts: number
    readonly requestedAt: string
  }
>

export type DeliveryAttempted = DomainEvent<
  'DeliveryAttempted',
  AttemptResult & { readonly deliveryId: string; readonly attempt: number; readonly durationMs: number; readonly at: string }
>

export type DeliverySucceeded = DomainEvent<'DeliverySucceeded', { readonly deliveryId: string; readonly attempt: number; readonly at: string }>

export type DeliveryFailed = DomainEvent<
  'DeliveryFailed',
  { readonly deliveryId: string; readonly attempt: number; readonly retryAt: string; readonly at: string }
>

export type DeliveryDeadLettered = DomainEvent<
  'DeliveryDeadLettered',
  { readonly deliveryId: string; readonly attempt: number; readonly reason: string; readonly at: string }
>

export type DeliveryUndeliverable = DomainEvent<'DeliveryUndeliverable', { readonly deliveryId: string; readonly reason: string; readonly at: string }>

export type DeliveryRetryRequested = DomainEvent<'DeliveryRetryRequested', { readonly deliveryId: string; readonly at: string }>

export type DeliveryEvent =
  | DeliveryRequested
  | DeliveryAttempted
  | DeliverySucceeded
  | DeliveryFailed
  | DeliveryDeadLettered
  | DeliveryUndeliverable
  | DeliveryRetryRequested

export const deliveryEventTypes = [
  'DeliveryRequested',
  'DeliveryAttempted',
  'DeliverySucceeded',
  'DeliveryFailed',
  'DeliveryDeadLettered',
  'DeliveryUndeliverable',
  'DeliveryRetryRequested',
] as const satisfies readonly DeliveryEvent['type'][]

// Commands ----------------------------------------------------------------------------

export type RequestDelivery = Command<
  'RequestDelivery',
  DeliveryOrder & { readonly deliveryId: string; readonly accountId: string; readonly cause: DeliveryCause; readonly maxAttempts: number }
>

export type RecordAttempt = Command<
  'RecordAttempt',
  AttemptResult & { readonly deliveryId: string; readonly attempt: number; readonly durationMs: number }
>

export type RecordUndeliverable = Command<'RecordUndeliverable', { readonly deliveryId: string; readonly reason: string }>

export type RetryDelivery = Command<'RetryDelivery', { readonly deliveryId: string; readonly accountId: string }>

export type DeliveryCommand = RequestDelivery | RecordAttempt | RecordUndeliverable | RetryDelivery

// State -------------------------------------------------------------------------------

export type ExistingDelivery = DeliveryOrder & {
  readonly deliveryId: string
  readonly accountId: string
  readonly target: string
  readonly cause: DeliveryCause
  readonly maxAttempts: number
  readonly status: DeliveryStatus
  /** attempts made so far, over every round */
  readonly attempts: number
  /** attempts made before the current round began (a manual retry of a dead letter) */
  readonly roundStart: number
  readonly nextAttemptAt: string | null
}

export type DeliveryState = { readonly exists: false } | ({ readonly exists: true } & ExistingDelivery)

export const deliveryStreamName = (deliveryId: string): string => `delivery-${deliveryId}`

const firstRetryDelayMs = 10_000
const retryDelayFactor = 4
const longestRetryDelayMs = 60 * 60_000

/** The pause after the n-th failed attempt of a round: 10 s, 40 s, 160 s, ... at most an hour. */
export function retryDelayMs(failedAttempts: number): number {
  return Math.min(firstRetryDelayMs * retryDelayFactor ** Math.max(0, failedAttempts - 1), longestRetryDelayMs)
}

export function targetOf(order: DeliveryOrder): string {
  switch (order.channel) {
    case 'command':
      return order.request.thingId
    case 'email':
    case 'sms':
      return order.request.to
    case 'http_push':
      return order.request.url
    default:
      return unreachable(order)
  }
}

/** Whether an attempt is due at `now`. */
export function isDue(state: DeliveryState, now: Date): state is { readonly exists: true } & ExistingDelivery {
  return (
    state.exists &&
    (state.status === 'pending' || state.status === 'failed') &&
    state.nextAttemptAt !== null &&
    Date.parse(state.nextAttemptAt) <= now.getTime()
  )
}

function notFound(deliveryId: string): NotFoundError {
  return new NotFoundError(`Delivery ${deliveryId} not found`, 'delivery_not_found')
}

const awaitingAttempt = (status: DeliveryStatus): boolean => status === 'pending' || status === 'failed'

function attemptEvents(delivery: ExistingDelivery, result: RecordAttempt['data'], now: Date): DeliveryEvent[] {
  const at = now.toISOString()
  const { deliveryId, attempt } = result
  const attempted: DeliveryAttempted = {
    type: 'DeliveryAttempted',
    data: { deliveryId, attempt, outcome: result.outcome, statusCode: result.statusCode, error: result.error, durationMs: result.durationMs, at },
  }
  const failure = result.error ?? (result.statusCode === null ? 'no answer' : `status ${result.statusCode}`)
  switch (result.outcome) {
    case 'succeeded':
      return [attempted, { type: 'DeliverySucceeded', data: { deliveryId, attempt, at } }]
    case 'rejected':
      return [attempted, { type: 'DeliveryDeadLettered', data: { deliveryId, attempt, reason: failure, at } }]
    case 'failed': {
      const inRound = attempt - delivery.roundStart
      if (inRound >= delivery.maxAttempts) {
        const reason = `${inRound} attempt${inRound === 1 ? '' : 's'} failed; the last: ${failure}`
        return [attempted, { type: 'DeliveryDeadLettered', data: { deliveryId, attempt, reason, at } }]
      }
      const retryAt = new Date(now.getTime() + retryDelayMs(inRound)).toISOString()
      return [attempted, { type: 'DeliveryFailed', data: { deliveryId, attempt, retryAt, at } }]
    }
    default:
      return unreachable(result.outcome)
  }
}

export const deliveryDecider: Decider<DeliveryState, DeliveryCommand, DeliveryEvent> = {
  initialState: { exists: false },

  decide(command, state, now) {
    const at = now.toISOString()
    switch (command.type) {
      case 'RequestDelivery': {
        // The id is derived from the cause: asking again is the same delivery.
        if (state.exists) return []
        const data = command.data
        return [{ type: 'DeliveryRequested', data: { ...data, target: targetOf(data), requestedAt: at } }]
      }
      case 'RecordAttempt': {
        if (!state.exists) throw notFound(command.data.deliveryId)
        if (command.data.attempt <= state.attempts) return []
        if (!awaitingAttempt(state.status)) {
          throw new ConflictError(`Delivery ${state.deliveryId} is ${state.status}: no attempt is due`, 'delivery_not_pending')
        }
        if (command.data.attempt !== state.attempts + 1) {
          throw new ConflictError(`Delivery ${state.deliveryId} is at attempt ${state.attempts}, not ${command.data.attempt - 1}`, 'attempt_out_of_order')
        }
        return attemptEvents(state, command.data, now)
      }
      case 'RecordUndeliverable': {
        if (!state.exists) throw notFound(command.data.deliveryId)
        if (state.status === 'undeliverable') return []
        if (!awaitingAttempt(state.status)) {
          throw new ConflictError(`Delivery ${state.deliveryId} is ${state.status}`, 'delivery_not_pending')
        }
        return [{ type: 'DeliveryUndeliverable', data: { deliveryId: state.deliveryId, reason: command.data.reason, at } }]
      }
      case 'RetryDelivery': {
        if (!state.exists || state.accountId !== command.data.accountId) throw notFound(command.data.deliveryId)
        switch (state.status) {
          case 'succeeded':
            throw new ConflictError(`Delivery ${state.deliveryId} already succeeded`, 'delivery_succeeded')
          case 'pending':
            return []
          case 'failed':
          case 'dead':
          case 'undeliverable':
            return [{ type: 'DeliveryRetryRequested', data: { deliveryId: state.deliveryId, at } }]
          default:
            return unreachable(state.status)
        }
      }
      default:
        return unreachable(command)
    }
  },

  evolve(state, event) {
    if (event.type === 'DeliveryRequested') {
      const { requestedAt, ...data } = event.data
      return { exists: true, ...data, status: 'pending', attempts: 0, roundStart: 0, nextAttemptAt: requestedAt }
    }
    if (!state.exists) return state
    switch (event.type) {
      case 'DeliveryAttempted':
        return { ...state, attempts: event.data.attempt }
      case 'DeliverySucceeded':
        return { ...state, status: 'succeeded', nextAttemptAt: null }
      case 'DeliveryFailed':
        return { ...state, status: 'failed', nextAttemptAt: event.data.retryAt }
      case 'DeliveryDeadLettered':
        return { ...state, status: 'dead', nextAttemptAt: null }
      case 'DeliveryUndeliverable':
        return { ...state, status: 'undeliverable', nextAttemptAt: null }
      case 'DeliveryRetryRequested': {
        // From a dead letter (or an undeliverable one) a new round of attempts begins.
        const newRound = state.status === 'dead' || state.status === 'undeliverable'
        return { ...state, status: 'pending', nextAttemptAt: event.data.at, roundStart: newRound ? state.attempts : state.roundStart }
      }
      default:
        return unreachable(event)
    }
  },
}

/** HTTP statuses worth another attempt: timeouts, rate limits, the server's own trouble. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500
}

/** The result of an HTTP answer: 2xx succeeded, retryable statuses failed, the rest rejected. */
export function resultOfStatus(status: number, error: string | null): AttemptResult {
  if (status >= 200 && status < 300) return { outcome: 'succeeded', statusCode: status, error: null }
  return { outcome: retryableStatus(status) ? 'failed' : 'rejected', statusCode: status, error: error ?? `HTTP ${status}` }
}
