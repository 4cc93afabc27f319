/**
 * A large export streams with flat memory: 100,000 events of one account go out over real
 * HTTP while the heap (measured after a forced collection, so only what is held counts)
 * stays far below the size of the export; the file then verifies. Prints events/s.
 */
import { createReadStream, statSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createWriteStream } from 'node:fs'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import { verifyAuditExport, type Jwks } from '../../commands/audit/chain.ts'
import type { EventToAppend } from '../../domain/ports/event-store.ts'
import { startTestServer, tempDataDir } from '../helpers/server.ts'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const total = Number(process.env.AUDIT_EXPORT_EVENTS ?? 100_000)
const streams = Math.min(100, total / 100)

t.test('100,000 events stream out with bounded memory and verify', async (t) => {
  const server = await startTestServer(t)
  const accountId = `account-${crypto.randomUUID().slice(0, 8)}`
  const { eventStore } = server.capsicum
  const time = '2026-06-01T12:00:00.000Z'
  for (let s = 0; s < streams; s++) {
    const thingId = crypto.randomUUID()
    const events: EventToAppend[] = Array.from({ length: total / streams }, (_, i) => ({
      id: crypto.randomUUID(),
      type: 'SensorReadingRecorded',
      data: { key: `0:${i}:0`, thingId, accountId, channel: '1', type: 'temp', unit: 'c', value: 20 + (i % 100) / 10, at: time, source: 'mqtt' },
      metadata: { actor: { type: 'system', id: 'telemetry-processor' }, account_id: accountId, client_id: null, correlation_id: `c-${i}`, causation_id: `c-${i}`, time },
    }))
    await eventStore.appendToStream(`telemetry-${thingId}`, events, { expectedRevision: 'no_stream' })
  }
  const token = server.tokenFor(accountId)
  const file = join(tempDataDir(t), 'export.ndjson')

  gc()
  const baseline = process.memoryUsage()
  let peakHeap = baseline.heapUsed
  let peakRss = baseline.rss
  const sampler = setInterval(() => {
    gc()
    const usage = process.memoryUsage()
    peakHeap = Math.max(peakHeap, usage.heapUsed)
    peakRss = Math.max(peakRss, usage.rss)
  }, 1000)
  const started = process.hrtime.bigint()
  const res = await fetch(`${server.url}/v1.1/audit/export?from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(res.status, 200)
  await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(file))
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  clearInterval(sampler)

  const bytes = statSync(file).size
  const heapGrowth = peakHeap - baseline.heapUsed
  t.comment(
    `exported ${total} events (${(bytes / 1e6).toFixed(1)} MB) in ${seconds.toFixed(2)} s: ${Math.round(total / seconds)} events/s; ` +
      `peak heap growth ${(heapGrowth / 1e6).toFixed(1)} MB, peak RSS growth ${((peakRss - baseline.rss) / 1e6).toFixed(1)} MB`,
  )
  t.ok(bytes > 40e6, 'the export is large')
  t.ok(heapGrowth < bytes / 4, `the heap held at most a quarter of the export at any time (${(heapGrowth / 1e6).toFixed(1)} MB of ${(bytes / 1e6).toFixed(1)} MB)`)

  const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as Jwks
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity })
  const verdict = await verifyAuditExport(lines, jwks)
  t.match(verdict, { ok: true, count: total })
})
