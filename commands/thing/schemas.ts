/** Request and response shapes of the thing endpoints, as the API text gives them. */
import { z } from 'zod'
import { commandStates, thingStatuses } from '../../domain/thing/thing.ts'
import { requiredText } from '../http/validate.ts'

const maxPropertiesBytes = 16 * 1024

/** "Active, Deactivated, Blocked": any case is accepted, the answer is upper case. */
const status = z.preprocess((v) => (typeof v === 'string' ? v.trim().toUpperCase() : v), z.enum(thingStatuses))

/** "Disable or Enable": 0/1, a boolean, or their words (forms send strings). */
const active = z
  .union([
    z.literal(0),
    z.literal(1),
    z.boolean(),
    z.enum(['0', '1', 'true', 'false', 'enable', 'disable', 'enabled', 'disabled', 'Enable', 'Disable']),
  ])
  .transform((v): 0 | 1 => (v === 1 || v === true || v === '1' || v === 'true' || /^enabled?$/i.test(String(v)) ? 1 : 0))

/** A JSON object, or (from a form, where the text types it as String) its JSON text. */
const properties = z
  .union([z.record(z.string(), z.json()), z.string()])
  .transform((value, ctx) => {
    let parsed: unknown = value
    if (typeof value === 'string') {
      try {
        parsed = value.trim() === '' ? {} : JSON.parse(value)
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON object' })
        return z.NEVER
      }
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object' })
      return z.NEVER
    }
    if (JSON.stringify(parsed).length > maxPropertiesBytes) {
      ctx.addIssue({ code: 'custom', message: `must be at most ${maxPropertiesBytes} bytes of JSON` })
      return z.NEVER
    }
    return parsed as Record<string, z.core.util.JSONType>
  })

const uuidOrNull = z
  .union([z.uuid(), z.literal(''), z.null()])
  .transform((v) => v || null)

export const createThingBody = z
  .object({
    name: requiredText().describe('thing name'),
    device_type_id: z.uuid().optional().describe('the thing type; default: the generic device type'),
    properties: properties.optional().describe('JSON object of device properties or device specific settings'),
    active: active.optional().describe('1 (enable, the default) or 0 (disable)'),
    status: status.optional().describe('ACTIVE (default), DEACTIVATED or BLOCKED'),
    parent_id: uuidOrNull.optional().describe('a thing of the same account whose type allows children'),
  })
  .meta({ title: 'CreateThing' })

export const updateThingBody = z
  .object({
    name: requiredText().optional(),
    device_type_id: z.uuid().optional(),
    properties: properties.optional(),
    active: active.optional(),
    status: status.optional(),
    parent_id: uuidOrNull.optional().describe('null or "" detaches the thing from its parent'),
  })
  .meta({ title: 'UpdateThing' })


export const sendCommandBody = z
  .object({
    value: z.union([z.number(), z.string().max(1024), z.boolean()]).describe('the value to send'),
    channel: z
      .union([z.number().int().min(0).max(1_000_000), z.string().trim().regex(/^\d{1,7}$/, 'must be a non-negative integer')])
      .transform((v) => Number(v))
      .describe('the channel: a non-negative integer, or its string'),
  })
  .meta({ title: 'SendCommand' })

export const thingResponse = z
  .object({
    id: z.uuid(),
    name: z.string(),
    device_type_id: z.string(),
    parent_id: z.string().nullable(),
    hardware_id: z.string().nullable(),
    properties: z.record(z.string(), z.unknown()),
    active: z.union([z.literal(0), z.literal(1)]),
    status: z.enum(thingStatuses),
    last_online: z.number(),
  })
  .strict()
  .meta({ title: 'Thing' })

export const thingWithChildrenResponse = thingResponse
  .extend({ children: z.array(thingResponse).describe('the things under this one (not deactivated)') })
  .strict()
  .meta({ title: 'ThingWithChildren' })

export const commandSentResponse = z.object({ success: z.literal(true) }).strict().meta({ title: 'CommandSent' })

export const thingCommandResponse = z
  .object({
    id: z.uuid(),
    seq: z.number().int(),
    channel: z.number().int(),
    value: z.union([z.number(), z.string(), z.boolean()]),
    state: z.enum(commandStates),
    reason: z.string().nullable(),
    requested_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .strict()
  .meta({ title: 'ThingCommand' })

const isoTime = z.iso.datetime({ offset: true })

export const getThingQuery = z.object({
  as_of: isoTime.optional().describe('the thing as it was at this moment (folded from its events)'),
})

export const commandsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
})

export const historyQuery = z.object({
  from: isoTime.optional().describe('events at or after this time'),
  to: isoTime.optional().describe('events at or before this time'),
  type: z.string().trim().min(1).max(500).optional().describe('event types, comma-separated (e.g. ThingPaired,CommandRequested); naming SensorReadingsRecorded, SensorReadingCorrected or another telemetry event adds the thing\'s telemetry stream'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().regex(/^\d{1,15}$/, 'must be a next_cursor this server returned').optional(),
})

export const historyEntry = z
  .object({
    stream: z.string(),
    revision: z.number().int(),
    position: z.number().int(),
    type: z.string(),
    time: z.string(),
    actor: z.object({ type: z.string(), id: z.string() }),
    account_id: z.string().nullable(),
    client_id: z.string().nullable(),
    correlation_id: z.string(),
    data: z.record(z.string(), z.unknown()),
  })
  .strict()
  .meta({ title: 'HistoryEntry' })

export const historyResponse = z
  .object({ events: z.array(historyEntry), next_cursor: z.string().nullable() })
  .strict()
  .meta({ title: 'ThingHistory' })

export const redecodeBody = z
  .object({
    from: isoTime.optional().describe('readings received at or after this time (default: the first)'),
    to: isoTime.optional().describe('readings received before this time (default: now)'),
    codec: z.string().trim().min(1).max(255).optional().describe('decode with this codec instead of the thing\'s provisioning codec (e.g. lpp)'),
  })
  .meta({ title: 'RedecodeRequest' })

export const redecodeResponse = z
  .object({
    codec: z.string().nullable().describe('the codec the kept payloads were decoded with (null: the text codecs)'),
    examined: z.number().int().describe('records whose kept payload was decoded again'),
    corrected: z.number().int().describe('readings corrected now (SensorReadingCorrected events recorded); 0 when run again'),
    without_payload: z.number().int().describe('records in the range recorded before payloads were kept'),
    skipped: z.array(z.object({ record: z.string(), problem: z.string() })).describe('records that could not be corrected, with the reason'),
  })
  .strict()
  .meta({ title: 'RedecodeResult' })
