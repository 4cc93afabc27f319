/**
 * The SmsSender port over a Twilio-compatible Messages API:
 * POST {apiUrl}/2010-04-01/Accounts/{sid}/Messages.json, form-encoded To/From/Body,
 * HTTP Basic auth sid:token. Not configured (no SMS_ACCOUNT_SID): no sender, and the
 * reactor records SMS notifications as undeliverable.
 */
import type { AttemptResult } from '../domain/delivery/delivery.ts'
import type { SmsMessage, SmsSender } from '../domain/ports/delivery-ports.ts'
import { resultOfStatus } from '../domain/delivery/delivery.ts'
import type { Config } from './config.ts'

/** Twilio's limit for one message body. */
const maxBodyLength = 1600

export function createSmsSender(sms: Config['automation']['sms'], options: { readonly timeoutMs: number } = { timeoutMs: 10_000 }): SmsSender | undefined {
  if (!sms) return undefined
  const endpoint = `${sms.apiUrl}/2010-04-01/Accounts/${encodeURIComponent(sms.accountSid)}/Messages.json`
  const authorization = `Basic ${Buffer.from(`${sms.accountSid}:${sms.authToken}`).toString('base64')}`
  return {
    async send(message: SmsMessage): Promise<AttemptResult> {
      const body = new URLSearchParams({ To: message.to, From: sms.from, Body: message.body.slice(0, maxBodyLength) })
      let response: Response
      try {
        response = await fetch(endpoint, {
          method: 'POST',
          headers: {
            authorization,
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
            'idempotency-key': message.idempotencyKey,
          },
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(options.timeoutMs),
        })
      } catch (error) {
        return { outcome: 'failed', statusCode: null, error: `SMS provider unreachable: ${messageOf(error)}` }
      }
      const text = await response.text().catch(() => '')
      return resultOfStatus(response.status, response.ok ? null : providerError(response.status, text))
    },
  }
}

/** Twilio answers errors as JSON `{ code, message }`. */
function providerError(status: number, text: string): string {
  try {
    const parsed = JSON.parse(text) as { code?: unknown; message?: unknown }
    if (typeof parsed.message === 'string') return `HTTP ${status}: ${parsed.message}${parsed.code === undefined ? '' : ` (code ${String(parsed.code)})`}`
  } catch {
    // not JSON: the status says enough
  }
  return `HTTP ${status}`
}

function messageOf(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message
  }
  return String(error)
}
