/**
 * Shapes of the data endpoints. The API text has none for them, so they are ours: the
 * latest reading per channel as `{channel, value, type, unit, timestamp}`, and a
 * channel's history as `{channel, from, to, interval, function, tz, points: [{timestamp,
 * value}]}`, where a bucket's timestamp is the moment it starts.
 */
import { z } from 'zod'
import { intervals } from '../../projections/calendar-buckets.ts'
import { aggregateFunctions } from '../../projections/reading-history.ts'

const readingValue = z
  .union([z.number(), z.array(z.number()), z.string()])
  .describe('one number; several for multi-value readings (accelerometer, GPS); or text')

export const latestReading = z
  .object({
    channel: z.string(),
    value: readingValue,
    type: z.string().nullable(),
    unit: z.string().nullable(),
    timestamp: z.iso.datetime().describe('when the server received the reading'),
  })
  .strict()
  .meta({ title: 'LatestReading' })

export const latestReadingsResponse = z.array(latestReading).meta({ title: 'LatestReadings' })

/** `2026-03-08T00:00:00-08:00` or ms since the epoch */
const instant = z
  .string()
  .trim()
  .refine((text) => /^\d{1,15}$/.test(text) || (z.iso.datetime({ offset: true }).safeParse(text).success && !Number.isNaN(Date.parse(text))), {
    message: 'must be an ISO 8601 time with a zone (2026-03-08T00:00:00Z) or milliseconds since the epoch',
  })
  .transform((text) => (/^\d+$/.test(text) ? Number(text) : Date.parse(text)))

export const historyDataQuery = z
  .object({
    from: instant.optional().describe('start, inclusive (ISO 8601 or epoch ms); default: 24 hours before `to`'),
    to: instant.optional().describe('end, exclusive (ISO 8601 or epoch ms); default: now'),
    interval: z.enum(intervals).optional().describe('bucket the readings by this calendar unit; absent: the raw points'),
    function: z.enum(aggregateFunctions).optional().describe('what each bucket holds (default avg); needs `interval`'),
    tz: z.string().trim().min(1).max(64).optional().describe('IANA time zone the buckets follow (default UTC)'),
  })

const bucketValue = z.union([z.number(), z.array(z.number().nullable()), z.string(), z.null()])

export const historyDataResponse = z
  .object({
    channel: z.string(),
    from: z.iso.datetime(),
    to: z.iso.datetime(),
    interval: z.enum(intervals).nullable(),
    function: z.enum(aggregateFunctions).nullable(),
    tz: z.string(),
    points: z.array(
      z
        .object({
          timestamp: z.iso.datetime().describe('the reading\'s time, or the start of the bucket'),
          value: bucketValue.describe('a multi-value reading is aggregated per component; null: no reading (or no number) in the bucket'),
        })
        .strict(),
    ),
  })
  .strict()
  .meta({ title: 'ChannelHistory' })

/**
 * The `id:` of a stream message: `r`, the stream revision of an event that is one message
 * (a reading recorded alone, as before readings were batched, or a correction), or `r.i`,
 * reading `i` (from 0) of the `SensorReadingsRecorded` at revision `r`.
 */
export const streamEventIdPattern = /^(\d{1,15})(?:\.(\d{1,15}))?$/

/** Where a resumed stream picks up: after the event at `revision`, or after its reading `index` when given. */
export interface StreamEventId {
  readonly revision: number
  readonly index?: number
}

/** `r` or `r.i` → its parts; undefined for anything else. */
export function parseStreamEventId(text: string): StreamEventId | undefined {
  const match = streamEventIdPattern.exec(text)
  if (!match) return undefined
  return match[2] === undefined ? { revision: Number(match[1]) } : { revision: Number(match[1]), index: Number(match[2]) }
}

export const streamEventIdProblem = 'must be an id this stream sent (`12`, or `12.3`)'

export const streamQuery = z
  .object({
    last_event_id: z
      .string()
      .regex(streamEventIdPattern, streamEventIdProblem)
      .optional()
      .describe('resume after this event (as the Last-Event-ID header does): `r` or `r.i`'),
  })

export const ingestResponse = z.object({ success: z.literal(true) }).strict().meta({ title: 'DataAccepted' })

/** What the OpenAPI document shows for the ingest's body; the codec validates it. */
export const ingestBody = z
  .array(
    z.object({
      channel: z.union([z.number().int().min(0), z.string()]),
      value: z.union([z.number(), z.array(z.number()), z.string()]),
      type: z.string().nullable().optional(),
      unit: z.string().nullable().optional(),
    }),
  )
  .meta({ title: 'DataJson' })
