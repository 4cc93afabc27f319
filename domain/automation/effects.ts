/**
 * What rules and jobs ask for when they fire: device actions, notifications and HTTP
 * pushes. `RuleTriggered` and `JobFired` carry a snapshot of them, so a reactor acts on
 * what the rule or job said at that moment, and an auditor reads exactly that.
 */
import type { DomainEvent } from '../decider.ts'
import type { JsonValue } from '../thing/thing.ts'

/** a command to a thing's channel (rule `actions[].id`, job `actions[].thing_id`) */
export interface ActionSpec {
  readonly thingId: string
  readonly channel: string
  readonly value: string | number | boolean
  readonly unit: string | null
}

export const notificationMethods = ['email', 'sms'] as const
export type NotificationMethod = (typeof notificationMethods)[number]

export interface NotificationSpec {
  readonly method: NotificationMethod
  /** an e-mail address or a phone number */
  readonly value: string
  /** the rule's own text, when given */
  readonly body: string | null
}

export interface HttpPushSpec {
  readonly method: string
  readonly url: string
  readonly headers: { readonly [name: string]: string }
  readonly payload: JsonValue | null
}

export interface Effects {
  readonly actions: readonly ActionSpec[]
  readonly notifications: readonly NotificationSpec[]
  readonly httpPush: readonly HttpPushSpec[]
}

/** The reading that made a rule fire. */
export interface TriggeringReading {
  readonly key: string
  readonly thingId: string
  readonly channel: string
  readonly type: string | null
  readonly unit: string | null
  readonly value: number | readonly number[] | string
  readonly at: string
}

export type RuleTriggered = DomainEvent<
  'RuleTriggered',
  {
    readonly ruleId: string
    readonly accountId: string
    readonly title: string
    readonly reading: TriggeringReading
    readonly effects: Effects
    readonly triggeredAt: string
  }
>

export type JobFired = DomainEvent<
  'JobFired',
  {
    readonly jobId: string
    readonly accountId: string
    readonly title: string
    /** the occurrence this run is for (UTC ISO) */
    readonly occurrence: string
    readonly firedAt: string
    /** `on_time`, or `catch_up` for an occurrence missed while the server was down */
    readonly reason: 'on_time' | 'catch_up'
    readonly effects: Effects
  }
>
