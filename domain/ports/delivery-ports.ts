/**
 * The ports the delivery reactors send through. Adapters (adapters/sms.ts,
 * adapters/http-push.ts) answer with the attempt's result instead of throwing, and sort
 * failures into the ones worth retrying (`failed`) and the ones that are not (`rejected`).
 */
import type { HttpPushSpec } from '../automation/effects.ts'
import type { AttemptResult } from '../delivery/delivery.ts'

export interface SmsMessage {
  /** E.164 phone number */
  readonly to: string
  readonly body: string
  /** the delivery id, handed on where the provider takes one */
  readonly idempotencyKey: string
}

export interface SmsSender {
  send(message: SmsMessage): Promise<AttemptResult>
}

export interface HttpPusher {
  push(request: HttpPushSpec, idempotencyKey: string): Promise<AttemptResult>
}
