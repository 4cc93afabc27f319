/** Request and response shapes of the job endpoints, as the API text gives them, plus the extras. */
import { z } from 'zod'
import { notificationMethods } from '../../domain/automation/effects.ts'
import {
  canonicalTimeZone,
  missedPolicies,
  parseStartDate,
  scheduleTypes,
  scheduleUnits,
} from '../../domain/job/schedule.ts'

const lowerCase = (v: unknown) => (typeof v === 'string' ? v.trim().toLowerCase() : v)
const upperCase = (v: unknown) => (typeof v === 'string' ? v.trim().toUpperCase() : v)
/** "2" from a form is 2 */
const numeric = (v: unknown) => (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v)

/** An item's `_id` sent back from a GET keeps the item's id; new items get one. */
const itemId = z.uuid().optional().describe('the item\'s id, when sending back an item the job already has')

const optionalString = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .nullable()
    .optional()
    .transform((v) => v || null)

const config = z
  .object({
    type: z.preprocess(lowerCase, z.enum(scheduleTypes)).describe('interval: repeats; date: runs once, at start_date'),
    interval: z
      .preprocess(numeric, z.number().int().min(1).max(1_000_000))
      .nullable()
      .optional()
      .transform((v) => v ?? null)
      .describe('for an interval job: how many units between runs (a positive whole number)'),
    unit: z.preprocess(lowerCase, z.enum(scheduleUnits)).nullable().optional().transform((v) => v ?? null).describe('for an interval job'),
    start_date: z
      .string()
      .trim()
      .refine((v) => parseStartDate(v) !== null, 'must be a local date and time like "2017-04-28 04:16", or ISO 8601 with Z or an offset')
      .describe('the first run: wall-clock time in tz ("2017-04-28 04:16"), or an instant when it ends in Z or an offset'),
    tz: z
      .string()
      .trim()
      .transform((v, ctx) => {
        const canonical = canonicalTimeZone(v)
        if (canonical === null) {
          ctx.addIssue({ code: 'custom', message: 'must be an IANA time zone, such as America/Los_Angeles or UTC' })
          return z.NEVER
        }
        return canonical
      })
      .default('UTC')
      .describe('IANA time zone of start_date and of day/month/year repetitions (default UTC)'),
    missed: z
      .preprocess(lowerCase, z.enum(missedPolicies))
      .default('catch_up')
      .describe('occurrences missed while no scheduler ran: catch_up (default) runs the latest once; skip records it as skipped'),
  })
  .superRefine((c, ctx) => {
    if (c.type !== 'interval') return
    if (c.interval === null) ctx.addIssue({ code: 'custom', path: ['interval'], message: 'is required for an interval job' })
    if (c.unit === null) ctx.addIssue({ code: 'custom', path: ['unit'], message: `is required for an interval job: ${scheduleUnits.join(', ')}` })
  })

const phoneNumber = /^\+?[0-9][0-9 ()-]{5,20}$/
const email = z.email()

const notification = z
  .object({
    _id: itemId,
    method: z.preprocess(lowerCase, z.enum(notificationMethods)).describe('email or sms'),
    value: z.string().trim().min(1).max(255).describe('an e-mail address or a phone number'),
  })
  .superRefine((n, ctx) => {
    if (n.method === 'email' && !email.safeParse(n.value).success) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: 'must be an e-mail address' })
    }
    if (n.method === 'sms' && !phoneNumber.test(n.value)) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: 'must be a phone number (+13101234567)' })
    }
  })

export const httpMethods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const

const httpPush = z.object({
  _id: itemId,
  // Checked when it is pushed (scheme, private addresses), so a job can name it first.
  url: z.string().trim().min(1).max(2048),
  method: z.preprocess(upperCase, z.enum(httpMethods)).default('POST'),
  headers: z.record(z.string(), z.string().max(4096)).default({}),
  payload: z.json().optional().transform((v) => v ?? null),
})

/** Any 8-4-4-4-12 hex id: the API text's example names 12345678-0000-0000-0000-000000000000. */
const hexId = z.string().trim().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a thing id (UUID)')

const action = z.object({
  _id: itemId,
  thing_id: hexId.describe('the thing to command: a thing of the account'),
  sensor_id: optionalString(64).describe('the sensor, for the record'),
  unit: optionalString(32),
  value: z.union([z.string().max(1024), z.number(), z.boolean()]).describe('the value sent to the channel'),
  channel: z
    .preprocess((v) => (typeof v === 'number' ? String(v) : v), z.string().trim().regex(/^\d{1,7}$/, 'must be a non-negative whole number'))
    .describe('the channel commanded: a non-negative whole number, or its text ("0")'),
})

const fields = {
  title: z.string().trim().max(255).describe('Title of the Job'),
  account_id: z.string().optional().describe('the account the job belongs to: only a management application may name another'),
  config: config.describe('Job scheduling configuration (required)'),
  notifications: z.array(notification).max(20),
  http_push: z.array(httpPush).max(20),
  actions: z.array(action).max(50),
  active: z.boolean().describe('whether the job runs (default true)'),
}

export const createJobBody = z
  .object({
    ...fields,
    title: fields.title.default(''),
    notifications: fields.notifications.default([]),
    http_push: fields.http_push.default([]),
    actions: fields.actions.default([]),
    active: fields.active.default(true),
  })
  .meta({ title: 'CreateJob' })

/**
 * `config` is required; other fields present replace the job's (a list is replaced
 * whole), absent ones stay. Without `active`, a paused job stays paused, and a `date`
 * job that ran runs again when given a new start_date.
 */
export const updateJobBody = z
  .object({
    ...fields,
    title: fields.title.optional(),
    notifications: fields.notifications.optional(),
    http_push: fields.http_push.optional(),
    actions: fields.actions.optional(),
    active: fields.active.optional(),
  })
  .meta({ title: 'UpdateJob' })

export const runsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('at most this many runs (default 100)'),
  offset: z.coerce.number().int().min(0).default(0),
})

const isoTime = z.iso.datetime()

export const jobResponse = z
  .object({
    _id: z.uuid(),
    created_at: isoTime,
    updated_at: isoTime,
    title: z.string(),
    account_id: z.string(),
    next_runtime: isoTime.nullable().describe('the next run, UTC; null when the job is inactive'),
    __v: z.number().int().describe('the job\'s revision (its ETag): 0 when created, one more with each change and run'),
    config: z
      .object({
        type: z.enum(scheduleTypes),
        interval: z.number().int().nullable(),
        unit: z.enum(scheduleUnits).nullable(),
        start_date: z.string(),
        tz: z.string(),
        missed: z.enum(missedPolicies),
      })
      .strict(),
    notifications: z.array(z.object({ _id: z.uuid(), method: z.enum(notificationMethods), value: z.string() }).strict()),
    http_push: z.array(
      z
        .object({ _id: z.uuid(), url: z.string(), method: z.string(), headers: z.record(z.string(), z.string()), payload: z.json().nullable() })
        .strict(),
    ),
    actions: z.array(
      z
        .object({
          _id: z.uuid(),
          thing_id: z.string(),
          sensor_id: z.string().nullable(),
          unit: z.string().nullable(),
          value: z.union([z.string(), z.number(), z.boolean()]),
          channel: z.string(),
        })
        .strict(),
    ),
    active: z.boolean(),
  })
  .strict()
  .meta({ title: 'Job' })

export const successResponse = z.object({ success: z.literal(true) }).strict().meta({ title: 'Success' })

export const jobRunResponse = z
  .object({
    id: z.uuid().describe('the run: the id of its JobFired or JobRunSkipped event'),
    occurrence: isoTime.describe('the scheduled time this run is for (UTC)'),
    status: z.enum(['fired', 'skipped']),
    reason: z.enum(['on_time', 'catch_up', 'missed']).describe('on_time; catch_up: run late, after a downtime; missed: skipped (policy skip)'),
    fired_at: isoTime.nullable(),
    recorded_at: isoTime,
    missed_since: isoTime.nullable().describe('skipped runs: the earliest occurrence missed with this one'),
    outcomes: z
      .array(
        z
          .object({
            delivery_id: z.string(),
            effect: z.string().describe('which of the job\'s effects, e.g. notifications[1]'),
            channel: z.string(),
            target: z.string(),
            status: z.string(),
            attempts: z.number().int(),
            reason: z.string().nullable(),
            updated_at: isoTime,
          })
          .strict(),
      )
      .describe('what the run\'s effects led to (GET /v1.1/deliveries for their attempts)'),
  })
  .strict()
  .meta({ title: 'JobRun' })
