/**
 * A thing's data: the latest reading per channel, a channel's history (raw, or in
 * calendar buckets of a time zone), the live readings as Server-Sent Events, and the HTTP
 * ingest devices use instead of MQTT (HTTP Basic with their MQTT credentials).
 */
import type { Request, RequestHandler, Response } from 'express'
import { z } from 'zod'
import { ForbiddenError, NotFoundError, RateLimitedError, UnauthenticatedError, ValidationError, type ErrorDetail } from '../../domain/errors.ts'
import type { ReadingFact, SensorReadingCorrected, TelemetryEvent } from '../../domain/telemetry/telemetry.ts'
import { isTimeZone, minimumBucketCount } from '../../projections/calendar-buckets.ts'
import { historyOf } from '../../projections/reading-history.ts'
import { latestReadingsOf } from '../../projections/thing-readings.ts'
import { thingOfAccount } from '../../projections/things.ts'
import { interpretJsonReadings } from '../../domain/cayenne/interpret.ts'
import { createDeviceDirectory } from '../../projections/device-directory.ts'
import { telemetryRecordOf, type TelemetryMessage } from '../../domain/telemetry/telemetry-message.ts'
import { FailureBackoff, retryAfterSeconds } from '../auth-backoff.ts'
import type { RecordedEvent } from '../../domain/ports/event-store.ts'
import { uuidParamOf } from '../http/requests.ts'
import { endpoint, textParam, uuidParam, written, type Endpoint } from '../http/endpoint.ts'
import { accountOf } from '../http/tenancy.ts'
import type { RouteDeps } from '../route-deps.ts'
import {
  historyDataQuery,
  historyDataResponse,
  ingestBody,
  ingestResponse,
  latestReadingsResponse,
  parseStreamEventId,
  streamEventIdProblem,
  streamQuery,
  type StreamEventId,
} from './data-schemas.ts'
import { followThing, LiveTelemetry } from './live-readings.ts'

/** most raw points one answer holds */
export const maxRawPoints = 10_000
/** most buckets one answer holds */
export const maxBuckets = 10_000
/** most readings one aggregation reads (a year of minute readings is 525,600) */
export const maxAggregatedPoints = 5_000_000
const dayMs = 86_400_000
const heartbeatMs = 15_000

const iso = (ms: number): string => new Date(ms).toISOString()

const thingNotFound = (id: string) => new NotFoundError(`Thing ${id} not found`, 'thing_not_found')

const invalid = (field: string, problem: string): ValidationError =>
  new ValidationError(`Invalid request query: ${field} ${problem}`, [{ field, problem }])

/** `[2].value: must be a number` → the field within the body, for the 400's details. */
function detailOf(reason: string): ErrorDetail {
  const match = /^(\[\d+\](?:\.\w+)?|[a-z]+): (.*)$/s.exec(reason)
  return match ? { field: `body${match[1]!.startsWith('[') ? '' : '.'}${match[1]}`, problem: match[2]! } : { field: 'body', problem: reason }
}

function basicCredentials(req: Request): { username: string; password: string } | undefined {
  const header = req.get('authorization')
  const match = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null
  if (!match) return undefined
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon < 0 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

/** A reading as the stream and `/data` show it. */
const readingView = (d: ReadingFact | SensorReadingCorrected['data']) => ({
  channel: d.channel,
  value: d.value,
  type: d.type,
  unit: d.unit,
  timestamp: d.at,
})

/** The `id:` of reading `index` of the event at `revision`: `r.i` for a `SensorReadingsRecorded`, `r` (index undefined) for an event that is one message. */
const streamIdOf = (revision: number, index: number | undefined): string => (index === undefined ? String(revision) : `${revision}.${index}`)

const sseReading = (id: string, reading: ReadingFact): string => `id: ${id}\nevent: reading\ndata: ${JSON.stringify(readingView(reading))}\n\n`

/**
 * The messages of a telemetry event from its reading `fromIndex` on: one per reading of a
 * `SensorReadingsRecorded` (`r.i`), one for a reading recorded alone or a correction (`r`,
 * none when a resume pointed within it); none for the other facts. A correction names the
 * `id:` of the reading it corrects and shows the reading as it is now.
 */
function sseMessagesOf(event: RecordedEvent<TelemetryEvent>, fromIndex: number): string {
  switch (event.type) {
    case 'SensorReadingsRecorded': {
      const readings = event.data.readings
      let text = ''
      for (let index = fromIndex; index < readings.length; index++) text += sseReading(streamIdOf(event.revision, index), readings[index]!)
      return text
    }
    case 'SensorReadingRecorded':
      return fromIndex > 0 ? '' : sseReading(streamIdOf(event.revision, undefined), event.data)
    case 'SensorReadingCorrected': {
      if (fromIndex > 0) return ''
      const corrects = streamIdOf(event.data.corrects.revision, event.data.corrects.index)
      return `id: ${event.revision}\nevent: correction\ndata: ${JSON.stringify({ ...readingView(event.data), corrects })}\n\n`
    }
    default:
      return ''
  }
}

export function dataEndpoints(deps: RouteDeps): Endpoint[] {
  const tags = ['Data']
  const directory = createDeviceDirectory({ readStore: deps.readStore, secretBox: deps.secretBox })
  const history = deps.readStore.readingHistory()
  const live = new LiveTelemetry(deps.eventStore, deps.followers ? { followers: deps.followers } : {})
  deps.shutdown.addEventListener('abort', () => void live.close(), { once: true })

  const thingId = uuidParam('thing id (UUID)', thingNotFound)
  /** The thing is the account's (404 otherwise), checked before the channel and the query, as a `before`. */
  const ownThing: RequestHandler = async (req, _res, next) => {
    const id = uuidParamOf(req, 'thingId', thingNotFound)
    if (!(await thingOfAccount(deps.readStore, accountOf(req), id))) throw thingNotFound(id)
    next()
  }
  const channel = textParam('the channel (`2`, or a text channel such as `sys:cpu;load`)', (value, params) =>
    value.length === 0 || value.length > 128 ? new NotFoundError(`Thing ${params.thingId} has no channel ${value}`, 'channel_not_found') : undefined,
  )

  function startEventStream(req: Request, res: Response, thingId: string, after: StreamEventId | undefined): void {
    res.status(200)
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8')
    res.setHeader('Cache-Control', 'no-cache, no-transform')
    res.setHeader('Connection', 'keep-alive')
    res.setHeader('X-Accel-Buffering', 'no')
    res.flushHeaders()
    res.write(': readings of the thing\nretry: 3000\n\n')
    let stop: (() => void) | undefined
    let ended = false
    const end = (): void => {
      if (ended) return
      ended = true
      clearInterval(heartbeat)
      stop?.()
      deps.shutdown.removeEventListener('abort', end)
      res.end()
    }
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), heartbeatMs)
    heartbeat.unref()
    req.on('close', end)
    deps.shutdown.addEventListener('abort', end, { once: true })
    const fail = (error: unknown): void => {
      req.log?.warn({ err: error, thingId }, 'reading stream ended on an error')
      end()
    }
    followThing({
      eventStore: deps.eventStore,
      live,
      thingId,
      after,
      deliver: (event, fromIndex) => {
        if (ended) return
        // the thing's telemetry stream holds telemetry events only; all readings of one event in one write
        const text = sseMessagesOf(event as RecordedEvent<TelemetryEvent>, fromIndex)
        if (text !== '') res.write(text)
      },
      onFailure: fail,
    }).then(
      (unsubscribe) => {
        if (ended) unsubscribe()
        else stop = unsubscribe
      },
      fail,
    )
  }

  const failedLogins = new FailureBackoff(deps.now)
  /** The thing's readings over HTTP: HTTP Basic with its MQTT credentials (checked before the body), then the JSON array. */
  const ingest = (path: string, operationId: string, summary: string): Endpoint =>
    endpoint({
      method: 'post',
      path,
      operationId,
      summary,
      description:
        'HTTP Basic with the MQTT username (the id from POST /v1.1/clients) and password (its clear_secret); the body is the JSON array ' +
        'of the `data/json` topic. The answer comes once the readings are durably on the telemetry stream.',
      tags,
      auth: 'none',
      params: { thingId: textParam('the thing (MQTT client id) the readings are from') },
      // documented only: the credentials are checked before the body is
      documentedBody: ingestBody,
      bodyMediaTypes: ['application/json'],
      responses: {
        200: { description: 'The readings were accepted', schema: ingestResponse },
        401: { description: 'Missing or wrong MQTT credentials (WWW-Authenticate: Basic)' },
        429: { description: 'Too many failed logins from this address or for this user name: try again after Retry-After seconds' },
        403: { description: 'The thing belongs to another account, or is deactivated or blocked' },
      },
      async handle({ req, res, params: { thingId } }) {
        const credentials = basicCredentials(req)
        if (!credentials) {
          res.setHeader('WWW-Authenticate', 'Basic realm="capsicum devices", charset="UTF-8"')
          throw new UnauthenticatedError('HTTP Basic with the MQTT username and password is required', 'invalid_credentials')
        }
        const address = req.ip ?? 'unknown'
        const wait = failedLogins.retryAfterMs(address, credentials.username)
        if (wait > 0) throw new RateLimitedError(`Too many failed logins from this address or for this user name: try again in ${retryAfterSeconds(wait)} s`, retryAfterSeconds(wait))
        const verdict = await directory.authenticateDevice({ ...credentials, thingId })
        if (!verdict.ok) {
          if (verdict.code === 5) throw new ForbiddenError(`Not authorized: ${verdict.reason}`, 'not_authorized')
          failedLogins.failed(address, credentials.username)
          res.setHeader('WWW-Authenticate', 'Basic realm="capsicum devices", charset="UTF-8"')
          throw new UnauthenticatedError(`Bad user name or password`, 'invalid_credentials')
        }
        failedLogins.succeeded(credentials.username)
        if (!req.is('application/json') || req.body === undefined) {
          throw new ValidationError('The body must be JSON (Content-Type: application/json)', [{ field: 'body', problem: 'must be application/json' }])
        }
        const body = JSON.stringify(req.body)
        const interpretation = interpretJsonReadings(body)
        if (interpretation.kind !== 'readings') {
          const reason = interpretation.kind === 'rejected' ? interpretation.reason : 'must be a JSON array of {channel, value, type, unit}'
          const detail = detailOf(reason)
          throw new ValidationError(`Invalid readings: ${reason}`, [detail], 'invalid_readings')
        }
        const received = deps.now()
        const message: TelemetryMessage = {
          kind: 'readings',
          source: 'http',
          topic: null,
          thingId,
          accountId: verdict.accountId,
          receivedAt: received.toISOString(),
          readings: interpretation.readings,
          // the body as parsed (the JSON text is what the data/json codec reads), kept for re-decoding
          payload: Buffer.from(body, 'utf8').toString('base64'),
        }
        await deps.telemetry.produce([telemetryRecordOf(message, received.getTime())])
        return { body: { success: true } }
      },
    })

  return [
    endpoint({
      method: 'get',
      path: '/v1.1/things/{thingId}/data',
      operationId: 'getLatestData',
      summary: 'The latest reading of each channel of the thing (beyond the API text)',
      tags,
      auth: 'bearer',
      params: { thingId },
      responses: { 200: { description: 'Latest readings, by channel', schema: latestReadingsResponse } },
      async handle({ req, params: { thingId } }) {
        if (!(await thingOfAccount(deps.readStore, accountOf(req), thingId))) throw thingNotFound(thingId)
        const readings = await latestReadingsOf(deps.readStore, thingId)
        return { body: readings.map((r) => ({ channel: r.channel, value: r.value, type: r.type, unit: r.unit, timestamp: r.at })) }
      },
    }),
    endpoint({
      method: 'get',
      path: '/v1.1/things/{thingId}/data/{channel}',
      operationId: 'getChannelHistory',
      summary: 'A channel\'s readings in [from, to): raw, or in calendar buckets of a time zone (beyond the API text)',
      description:
        `Without \`interval\`, the raw readings (at most ${maxRawPoints}). With it, every bucket of the calendar in \`tz\` that meets [from, to), ` +
        `each with \`function\` of its readings (at most ${maxBuckets} buckets); a multi-value reading is aggregated per component.`,
      tags,
      auth: 'bearer',
      // the thing is the account's before the channel and the query are looked at
      before: [ownThing],
      params: { thingId, channel },
      query: historyDataQuery,
      responses: { 200: { description: 'The history', schema: historyDataResponse } },
      async handle({ params: { thingId, channel }, query }) {
        const to = query.to ?? deps.now().getTime()
        const from = query.from ?? to - dayMs
        if (to <= from) throw invalid('to', 'must be after from')
        const timeZone = query.tz ?? 'UTC'
        if (!isTimeZone(timeZone)) throw invalid('tz', 'must be an IANA time zone (America/Los_Angeles, UTC, ...)')
        if (query.function !== undefined && query.interval === undefined) throw invalid('function', 'needs an interval')
        const range = { thingId, channel, from, to }
        const count = await history.count(range)
        if (query.interval === undefined) {
          if (count > maxRawPoints) {
            throw invalid('interval', `is needed: [from, to) holds ${count} readings, more than the ${maxRawPoints} one answer returns (or narrow from and to)`)
          }
        } else {
          if (minimumBucketCount(from, to, query.interval) > maxBuckets) {
            throw invalid('interval', `makes more than ${maxBuckets} buckets between from and to: take a longer one or narrow the range`)
          }
          if (count > maxAggregatedPoints) throw invalid('from', `[from, to) holds ${count} readings, more than the ${maxAggregatedPoints} one aggregation reads`)
        }
        const fn = query.function ?? 'avg'
        const points = await historyOf(history, {
          ...range,
          ...(query.interval === undefined ? {} : { bucketing: { interval: query.interval, fn, timeZone } }),
        })
        if (points.length > maxBuckets) throw invalid('interval', `makes ${points.length} buckets, more than ${maxBuckets}`)
        return {
          body: {
            channel,
            from: iso(from),
            to: iso(to),
            interval: query.interval ?? null,
            function: query.interval === undefined ? null : fn,
            tz: timeZone,
            points: points.map((p) => ({ timestamp: iso(p.ts), value: p.value })),
          },
        }
      },
    }),
    endpoint({
      method: 'get',
      path: '/v1.1/things/{thingId}/stream',
      operationId: 'streamReadings',
      summary: 'New readings of the thing as Server-Sent Events, resumable with Last-Event-ID (beyond the API text)',
      description:
        'Each reading is `event: reading` with `data:` `{channel, value, type, unit, timestamp}` and an `id:`: `r.i` for reading `i` (from 0) ' +
        'of the readings recorded together at revision `r` of the thing\'s telemetry stream (`12.0`, `12.1`, ...), or `r` for a reading ' +
        'recorded alone (before readings were recorded together). A re-decode\'s correction of an earlier reading is `event: correction` ' +
        'with id `r` (its own revision) and the same fields plus `corrects`, the `id:` of the reading corrected (`r` or `r.i`). Ids are ' +
        'opaque to clients: reconnecting with `Last-Event-ID` (or `?last_event_id=`) set to the last id received, `r` or `r.i`, delivers ' +
        'exactly what came after it (the rest of revision `r` first), then continues live; anything else is a 400. A comment line is sent ' +
        `every ${heartbeatMs / 1000} s.`,
      tags,
      auth: 'bearer',
      // the thing is the account's before the query is looked at
      before: [ownThing],
      params: { thingId },
      query: streamQuery,
      headers: [{ name: 'Last-Event-ID', description: 'the id of the last event received (`r` or `r.i`): resume after it' }],
      responses: { 200: { description: 'The event stream', contentType: 'text/event-stream', schema: z.string() } },
      async handle({ req, res, params: { thingId }, query }) {
        const header = req.get('last-event-id')?.trim()
        const fromHeader = header ? parseStreamEventId(header) : undefined
        if (header && !fromHeader) throw invalid('Last-Event-ID', streamEventIdProblem)
        // the query's id was validated with the same pattern
        const after = fromHeader ?? (query.last_event_id === undefined ? undefined : parseStreamEventId(query.last_event_id))
        startEventStream(req, res, thingId, after)
        return written
      },
    }),
    ingest('/v1.1/things/{thingId}/data', 'ingestData', 'Send readings over HTTP instead of MQTT (the Cayenne docs\' HTTP alternative)'),
    ingest('/things/{thingId}/data', 'ingestDataCayennePath', 'The same, at the path of the Cayenne docs (`/things/{clientID}/data`)'),
  ]
}
