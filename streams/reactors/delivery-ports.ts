/**
 * The ports the delivery reactors send through. Adapters (adapters/sms.ts,
 * adapters/http-push.ts) answer with the attempt's result instead of throwing, and sort
 * failures into the ones worth retrying (`failed`) and the ones that are not (`rejected`).
 */
import type { HttpPushSpec } from '../../domain/automation/effects.ts'
import type { AttemptResult } from '../../domain/delivery/delivery.ts'

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

/** HTTP statuses worth another attempt: timeouts, rate limits, the server's own trouble. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500
}

/** The result of an HTTP answer: 2xx succeeded, retryable statuses failed, the rest rejected. */
export function resultOfStatus(status: number, error: string | null): AttemptResult {
  if (status >= 200 && status < 300) return { outcome: 'succeeded', statusCode: status, error: null }
  return { outcome: retryableStatus(status) ? 'failed' : 'rejected', statusCode: status, error: error ?? `HTTP ${status}` }
}
