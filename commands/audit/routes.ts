/**
 * `GET /v1.1/audit/export`: the account's events of a time range (optionally about one
 * thing) as a tamper-evident NDJSON chain (commands/audit/chain.ts), for auditors who hand
 * it to a third party. The log is read in pages and each page is written before the next
 * is read, waiting for the socket to drain: memory stays flat whatever the range.
 */
import type { Response } from 'express'
import { z } from 'zod'
import { NotFoundError, ValidationError } from '../../domain/errors.ts'
import { telemetryStreamOf } from '../../domain/telemetry/telemetry.ts'
import { thingStreamName } from '../../domain/thing/thing.ts'
import { thingOfAccount } from '../../projections/things.ts'
import type { RecordedEvent } from '../../domain/ports/event-store.ts'
import { accountOf } from '../http/tenancy.ts'
import { endpoint, written, type Endpoint } from '../http/endpoint.ts'
import type { RouteDeps } from '../route-deps.ts'
import { masked } from '../thing/history.ts'
import { AuditChainWriter } from './chain.ts'

/** Signs the head of an export (adapters/tokens.ts: RS256 with the server's key, its kid in the JWKS). */

const isoTime = z.iso.datetime({ offset: true })

export const auditExportQuery = z.object({
  from: isoTime.describe('events at or after this time (ISO 8601 with a zone)'),
  to: isoTime.describe('events before this time (exclusive)'),
  thing_id: z.uuid().optional().describe('only the events about this thing (its own stream, its telemetry, its provisioning)'),
  account_id: z.string().optional().describe('the account to export (management tokens only)'),
})

const exportLine = z.object({ type: z.enum(['header', 'event', 'signature']) }).loose().meta({ title: 'AuditExportLine' })

/** Events read from the log per page. */
const pageSize = 1000

function belongsToThing(event: RecordedEvent, thingId: string): boolean {
  if (event.streamName === thingStreamName(thingId) || event.streamName === telemetryStreamOf(thingId)) return true
  const data = event.data as { thingId?: unknown } | null
  return data !== null && typeof data === 'object' && data.thingId === thingId
}

/** Writes a chunk; resolves once the socket wants more (backpressure) or is gone. */
function write(res: Response, chunk: string): Promise<void> {
  if (res.write(chunk) || res.destroyed) return Promise.resolve()
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}

export function auditEndpoints(deps: RouteDeps): Endpoint[] {
  return [
    endpoint({
      method: 'get',
      path: '/v1.1/audit/export',
      operationId: 'exportAudit',
      summary: 'The account\'s events of [from, to) as a tamper-evident, signed NDJSON chain (beyond the API text)',
      description:
        'One JSON object per line, in RFC 8785 canonical form: a header (format `capsicum-audit-export/1`, account, thing, range), ' +
        'one line per event (the event with its metadata, secrets masked as in the history), each with `prev_hash` and `hash` ' +
        '(SHA-256 of the line without `hash`; the header\'s `prev_hash` is 64 zeros), and a last line `{ type: "signature", jws }` ' +
        'whose RS256 JWS (kid in /.well-known/jwks.json) signs the count, the header and last hashes, the first and last log ' +
        'positions and the range. Check it offline with `npx capsicum audit verify FILE`.',
      tags: ['Audit'],
      auth: 'bearer',
      query: auditExportQuery,
      responses: {
        200: { description: 'The export, streamed', contentType: 'application/x-ndjson', schema: exportLine },
      },
      async handle({ req, res, query }) {
        const accountId = accountOf(req)
        const from = Date.parse(query.from)
        const to = Date.parse(query.to)
        if (!(from < to)) throw new ValidationError('from must be before to', [{ field: 'to', problem: 'must be after from' }])
        const thingId = query.thing_id ?? null
        if (thingId !== null && !(await thingOfAccount(deps.readStore, accountId, thingId))) {
          throw new NotFoundError(`Thing ${thingId} not found`, 'thing_not_found')
        }
        const chain = new AuditChainWriter({ account_id: accountId, thing_id: thingId, from: new Date(from).toISOString(), to: new Date(to).toISOString() })
        // Up to the head as it is now: events appended while the export runs belong to a later one.
        const head = await deps.eventStore.headPosition()
        res.status(200).type('application/x-ndjson').setHeader('Cache-Control', 'no-store')
        await write(res, `${chain.header(deps.now().toISOString())}\n`)
        let position: number | null = null
        while (head !== null && !res.destroyed) {
          const events = await deps.eventStore.readAll({ fromPosition: position, maxCount: pageSize })
          let page = ''
          for (const event of events) {
            if (event.position > head) break
            const time = Date.parse(event.metadata.time)
            if (event.metadata.account_id !== accountId || time < from || time >= to) continue
            if (thingId !== null && !belongsToThing(event, thingId)) continue
            page += `${chain.event({
              id: event.id,
              stream: event.streamName,
              revision: event.revision,
              position: event.position,
              type: event.type,
              data: masked(event.data),
              metadata: event.metadata,
            })}\n`
          }
          // one write per page, and the next page is read only once the socket drained
          if (page !== '') await write(res, page)
          const last = events[events.length - 1]
          if (last === undefined || last.position >= head) break
          position = last.position
        }
        if (!res.destroyed) res.end(`${chain.signature((claims) => deps.auditSigner.sign(claims))}\n`)
        return written
      },
    }),
  ]
}
