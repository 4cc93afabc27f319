/** Request and response shapes of the rule endpoints, as the API text gives them, plus the extras. */
import { z } from 'zod'
import { notificationMethods } from '../../domain/automation/effects.ts'
import { comparisonOperators, triggersConditions } from '../../domain/rule/conditions.ts'
import { optionalText, requiredText } from '../http/validate.ts'

const lowerCase = (v: unknown) => (typeof v === 'string' ? v.trim().toLowerCase() : v)

const thingId = z.string().trim().min(1).max(64)

/** "101" in the API text; a number is read as its text. */
const channel = z
  .union([z.string().trim().min(1).max(64), z.number().int().min(0)])
  .transform((v) => String(v))

const unit = z
  .string()
  .trim()
  .max(32)
  .nullable()
  .optional()
  .transform((v) => v || null)

const condition = z.object({
  value: z.union([z.string().trim().min(1).max(255), z.number().refine(Number.isFinite, 'must be a finite number')]).describe('"15", 15 or a text to compare with eq/neq'),
  operator: z.preprocess(lowerCase, z.enum(comparisonOperators)).describe('eq, neq, gt, gte, lt, lte (any case)'),
})

const trigger = z.object({
  id: thingId.describe('the thing whose readings are watched (a thing of the account)'),
  channel: channel.describe('the channel watched'),
  unit: unit.describe('when given, readings in another unit are not compared'),
  geofence: z
    .boolean()
    .refine((v) => !v, 'geofence triggers are not supported')
    .default(false)
    .describe('false (geofence triggers are not supported)'),
  conditions: z.array(condition).min(1).describe('all of them must hold (gt 15 and lt 30 is "between")'),
})

const action = z.object({
  id: thingId.describe('the thing to command (a thing of the account)'),
  channel: channel,
  unit: unit,
  value: z.union([z.number(), z.string().max(1024), z.boolean()]),
})

const phoneNumber = /^\+?[0-9][0-9 ()-]{5,20}$/
const email = z.email()

const notification = z
  .object({
    method: z.preprocess(lowerCase, z.enum(notificationMethods)).describe('email or sms'),
    value: z.string().trim().min(1).max(255).describe('an e-mail address or a phone number'),
    body: optionalText(2000).describe('the text to send; default: one made from the rule and the reading'),
  })
  .superRefine((n, ctx) => {
    if (n.method === 'email' && !email.safeParse(n.value).success) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: 'must be an e-mail address' })
    }
    if (n.method === 'sms' && !phoneNumber.test(n.value)) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: 'must be a phone number (+10213543213)' })
    }
  })

export const httpMethods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const

const httpPush = z.object({
  // Checked when it is pushed (scheme, private addresses), so a rule can name it first.
  url: z.string().trim().min(1).max(2048),
  method: z
    .preprocess((v) => (typeof v === 'string' ? v.trim().toUpperCase() : v), z.enum(httpMethods))
    .default('POST'),
  payload: z.json().optional().transform((v) => v ?? null),
  headers: z.record(z.string(), z.string().max(4096)).default({}),
})

const triggersCondition = z
  .preprocess(lowerCase, z.enum(triggersConditions))
  .describe('any (default): one trigger holding fires the rule; all: every one must hold')

const cooldownSeconds = z
  .number()
  .int()
  .min(0)
  .max(31_536_000)
  .nullable()
  .describe('after a fire, do not fire again for this long (by reading time); null or 0: no cooldown')

const fields = {
  title: requiredText().describe('rule name'),
  account_id: z.string().optional().describe('the account the rule belongs to: only a management application may name another'),
  enabled: z.boolean().describe('rule should run or not (default true)'),
  triggers: z.array(trigger).min(1).describe('at least one; see triggers_condition'),
  actions: z.array(action).describe('commands to things when the rule fires'),
  notifications: z.array(notification).describe('e-mail and SMS notifications (methods email and sms)'),
  http_push: z.array(httpPush).describe('HTTP pushes to third-party services'),
  triggers_condition: triggersCondition,
  cooldown_seconds: cooldownSeconds,
}

export const createRuleBody = z
  .object({
    ...fields,
    enabled: fields.enabled.default(true),
    actions: fields.actions.default([]),
    notifications: fields.notifications.default([]),
    http_push: fields.http_push.default([]),
    triggers_condition: fields.triggers_condition.default('any'),
    cooldown_seconds: fields.cooldown_seconds.default(null),
  })
  .meta({ title: 'CreateRule' })

/** Fields present replace the rule's (a list is replaced whole); absent ones stay. */
export const updateRuleBody = z
  .object({
    title: fields.title.optional(),
    account_id: fields.account_id,
    enabled: fields.enabled.optional(),
    triggers: fields.triggers.optional(),
    actions: fields.actions.optional(),
    notifications: fields.notifications.optional(),
    http_push: fields.http_push.optional(),
    triggers_condition: fields.triggers_condition.optional(),
    cooldown_seconds: fields.cooldown_seconds.optional(),
  })
  .meta({ title: 'UpdateRule' })

const isoTime = z.iso.datetime({ offset: true })

const range = {
  from: isoTime.describe('readings at or after this time'),
  to: isoTime.describe('readings at or before this time'),
}

const rangeInOrder = (r: { from: string; to: string }) => Date.parse(r.from) <= Date.parse(r.to)
const rangeProblem = { message: 'must not be before from', path: ['to'] }

export const simulateRuleBody = z.object(range).refine(rangeInOrder, rangeProblem).meta({ title: 'SimulateRule' })

export const simulateDraftBody = createRuleBody
  .extend({ title: fields.title.default('Draft rule'), ...range })
  .refine(rangeInOrder, rangeProblem)
  .meta({ title: 'SimulateDraftRule' })

export const ruleResponse = z
  .object({
    id: z.uuid(),
    account_id: z.string(),
    title: z.string(),
    enabled: z.boolean(),
    triggers_condition: z.enum(triggersConditions),
    cooldown_seconds: z.number().int().nullable(),
    triggers: z.array(
      z
        .object({
          id: z.string(),
          channel: z.string(),
          unit: z.string().nullable(),
          geofence: z.boolean(),
          conditions: z.array(z.object({ value: z.union([z.string(), z.number()]), operator: z.enum(comparisonOperators) }).strict()),
        })
        .strict(),
    ),
    actions: z.array(
      z.object({ id: z.string(), channel: z.string(), unit: z.string().nullable(), value: z.union([z.number(), z.string(), z.boolean()]) }).strict(),
    ),
    notifications: z.array(z.object({ method: z.enum(notificationMethods), value: z.string(), body: z.string().nullable() }).strict()),
    http_push: z.array(
      z.object({ url: z.string(), method: z.string(), payload: z.json().nullable(), headers: z.record(z.string(), z.string()) }).strict(),
    ),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .strict()
  .meta({ title: 'Rule' })

export const ruleCreatedResponse = z.object({ id: z.uuid() }).strict().meta({ title: 'RuleCreated' })

export const successResponse = z.object({ success: z.literal(true) }).strict().meta({ title: 'Success' })

export const simulationResponse = z
  .object({
    fires: z.array(
      z
        .object({
          at: z.string().describe('time of the reading that would have fired the rule'),
          thing_id: z.string(),
          channel: z.string(),
          value: z.union([z.number(), z.string(), z.array(z.number())]),
          unit: z.string().nullable(),
          type: z.string().nullable(),
          key: z.string().describe('the telemetry record the reading came from'),
        })
        .strict(),
    ),
    evaluated: z.number().int().describe('readings in the range that concerned one of the triggers'),
  })
  .strict()
  .meta({ title: 'RuleSimulation' })
