/** Request and response shapes of the delivery endpoints (beyond the API text). */
import { z } from 'zod'
import { attemptOutcomes, deliveryChannels, deliveryStatuses } from '../../domain/delivery/delivery.ts'

export const deliveriesQuery = z.object({
  status: z.enum(deliveryStatuses).optional().describe('only the deliveries in this state'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
})

const isoTime = z.iso.datetime()

export const deliveryResponse = z
  .object({
    id: z.uuid(),
    status: z.enum(deliveryStatuses).describe('pending: an attempt is due; failed: the last attempt failed and another is scheduled; dead: no more attempts'),
    channel: z.enum(deliveryChannels),
    target: z.string().describe('the thing, e-mail address, phone number or URL'),
    request: z
      .union([
        z.object({ thing_id: z.string(), channel: z.string(), value: z.union([z.string(), z.number(), z.boolean()]), unit: z.string().nullable() }).strict(),
        z.object({ to: z.string(), body: z.string().nullable() }).strict(),
        z.object({ method: z.string(), url: z.string(), headers: z.record(z.string(), z.string()), payload: z.json().nullable() }).strict(),
      ])
      .describe('what the rule or job asked for'),
    cause: z
      .object({
        type: z.enum(['rule', 'job']),
        id: z.string().describe('the rule or job'),
        event_id: z.string().describe('its RuleTriggered or JobFired event'),
        title: z.string(),
        effect: z.string().describe('which of its effects, e.g. notifications[0]'),
      })
      .strict(),
    attempts: z.array(
      z
        .object({
          attempt: z.number().int(),
          outcome: z.enum(attemptOutcomes).describe('rejected: refused for good (not retried)'),
          status_code: z.number().int().nullable(),
          error: z.string().nullable(),
          duration_ms: z.number().int(),
          at: isoTime,
        })
        .strict(),
    ),
    max_attempts: z.number().int(),
    next_attempt_at: isoTime.nullable(),
    reason: z.string().nullable().describe('why it is dead or undeliverable'),
    requested_at: isoTime,
    updated_at: isoTime,
  })
  .strict()
  .meta({ title: 'Delivery' })
