/**
 * `npm run bench:store`: the embedded engine against raw better-sqlite3, in one run, on
 * fresh files opened the same way (WAL, synchronous=FULL).
 *
 *   raw insert   one prepared INSERT into a plain table, 1000 rows per transaction
 *   appends      SqliteEventStore.appendToStream, 1000 appends of 1 event issued in one
 *                turn (one group commit), and 10 appends of 100 events per turn
 *   raw read     every column of every row by position, data and metadata JSON.parse'd
 *   rebuild      ProjectionRunner.rebuild of every read model over the appended log
 *
 * Targets: appends ≥ 0.5× raw insert; rebuild ≥ 0.5× raw read. Baselines run three times
 * around the others and the median counts, so a noisy neighbour skews both sides alike.
 * BENCH_EVENTS sets the event count (default 100000). Exits 0 whatever the figures.
 */
import Database from 'better-sqlite3'
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteEventStore } from '../adapters/eventstore/sqlite.ts'
import { SqliteReadStore } from '../adapters/readstore/sqlite.ts'
import { openDatabase, type SqliteDatabase } from '../adapters/sqlite/database.ts'
import type { EventMetadata, EventToAppend } from '../domain/ports/event-store.ts'
import { thingTypeStreamName } from '../domain/thing-type/thing-type.ts'
import { allProjections } from '../projections/index.ts'
import { ProjectionRunner } from '../projections/runner.ts'

const N = Number(process.env.BENCH_EVENTS ?? 100_000)
const BATCH = 1000
const EVENTS_PER_STREAM = 20
const TARGET = 0.5
const root = mkdtempSync(join(tmpdir(), 'capsicum-bench-'))
let dirs = 0
const freshDb = (): SqliteDatabase => openDatabase(join(root, String(dirs++)))
const silent = { info: () => {}, warn: () => {}, error: () => {} }

/** Realistic thing-type events: each stream is registered, then updated. Deterministic. */
function event(i: number): { stream: string; revision: number; event: EventToAppend } {
  const streamIndex = Math.floor(i / EVENTS_PER_STREAM)
  const revision = i % EVENTS_PER_STREAM
  const typeId = `00000000-0000-4000-8000-${String(streamIndex).padStart(12, '0')}`
  const metadata: EventMetadata = {
    actor: { type: 'user', id: `user-${streamIndex % 97}` },
    account_id: `account-${streamIndex % 97}`,
    client_id: 'bench-client',
    correlation_id: `request-${i}`,
    causation_id: `request-${i}`,
    time: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
  }
  const data =
    revision === 0
      ? {
          typeId,
          accountId: metadata.account_id,
          name: `Type ${streamIndex}`,
          description: 'A device type registered by the benchmark',
          model: 'B-1',
          version: '1.0',
          manufacturer: 'Bench Devices',
          transportProtocol: 'mqtt',
          protocolVersion: '1.1',
          category: 'sensor',
          subcategory: 'lora',
          dataType: null,
          registeredAt: metadata.time,
        }
      : { typeId, changes: { description: `Revision ${revision}` }, updatedAt: metadata.time }
  const type = revision === 0 ? 'ThingTypeRegistered' : 'ThingTypeUpdated'
  return { stream: thingTypeStreamName(typeId), revision, event: { id: `evt-${i}`, type, data, metadata } }
}

async function timed(work: () => unknown): Promise<{ seconds: number; cpu: number }> {
  const start = process.hrtime.bigint()
  const cpuStart = process.cpuUsage()
  await work()
  const cpu = process.cpuUsage(cpuStart)
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, cpu: (cpu.user + cpu.system) / 1e6 }
}

function rawInsert(): Promise<{ seconds: number; cpu: number }> {
  const db = freshDb()
  db.exec('CREATE TABLE raw (id TEXT, stream TEXT, revision INTEGER, type TEXT, data TEXT, metadata TEXT)')
  const insert = db.prepare('INSERT INTO raw VALUES (?, ?, ?, ?, ?, ?)')
  const writeBatch = db.transaction((from: number) => {
    for (let i = from; i < Math.min(from + BATCH, N); i++) {
      const e = event(i)
      insert.run(e.event.id, e.stream, e.revision, e.event.type, JSON.stringify(e.event.data), JSON.stringify(e.event.metadata))
    }
  })
  return timed(() => {
    for (let from = 0; from < N; from += BATCH) writeBatch(from)
  }).finally(() => db.close())
}

/**
 * What any reader of the log must at least do: fetch every column of every row (as arrays,
 * better-sqlite3's cheapest form) and parse the JSON.
 */
function rawRead(db: Database.Database): Promise<{ seconds: number; cpu: number }> {
  const rows = db
    .prepare<[], [number, string, string, number, string, string, string]>(
      'SELECT position, id, stream, revision, type, data, metadata FROM events ORDER BY position',
    )
    .raw(true)
  return timed(() => {
    let count = 0
    for (const row of rows.iterate()) {
      JSON.parse(row[5])
      JSON.parse(row[6])
      count++
    }
    if (count !== N) throw new Error(`read ${count} rows, expected ${N}`)
  })
}

async function appends(eventsPerAppend: number): Promise<{ result: { seconds: number; cpu: number }; db: SqliteDatabase }> {
  const db = freshDb()
  const store = new SqliteEventStore(db)
  const result = await timed(async () => {
    for (let from = 0; from < N; from += BATCH) {
      const pending: Promise<unknown>[] = []
      for (let i = from; i < Math.min(from + BATCH, N); i += eventsPerAppend) {
        const group = Array.from({ length: Math.min(eventsPerAppend, N - i) }, (_, k) => event(i + k))
        const first = group[0]!
        const expectedRevision = eventsPerAppend === 1 && first.revision > 0 ? first.revision - 1 : 'any'
        const stream = eventsPerAppend === 1 ? first.stream : `bench-${i}`
        pending.push(store.appendToStream(stream, group.map((g) => g.event), { expectedRevision }))
      }
      await Promise.all(pending)
    }
  })
  await store.close()
  return { result, db }
}

async function rebuild(db: SqliteDatabase): Promise<{ seconds: number; cpu: number }> {
  const runner = new ProjectionRunner({ eventStore: new SqliteEventStore(db), readStore: new SqliteReadStore(db), projections: allProjections, logger: silent })
  return timed(async () => {
    const applied = await runner.rebuild()
    if (applied !== N) throw new Error(`rebuilt ${applied} events, expected ${N}`)
  })
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const rate = (r: { seconds: number }): number => N / r.seconds
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(10)

async function main(): Promise<void> {
  console.log(`bench:store  node ${process.version}, SQLite ${new Database(':memory:').prepare('select sqlite_version() v').pluck().get()}`)
  console.log(`N = ${N.toLocaleString('en-US')} events, ${BATCH} per transaction / group commit; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`)

  const inserts: number[] = []
  const reads: number[] = []
  inserts.push(rate(await rawInsert()))
  const single = await appends(1)
  inserts.push(rate(await rawInsert()))
  const hundred = await appends(100)
  hundred.db.close()
  inserts.push(rate(await rawInsert()))
  for (let run = 0; run < 3; run++) reads.push(rate(await rawRead(single.db)))
  const rebuilt = await rebuild(single.db)
  single.db.close()

  const rawInsertRate = median(inserts)
  const rawReadRate = median(reads)
  const rows: [string, number, number | null][] = [
    ['raw insert, plain table (median of 3)', rawInsertRate, null],
    ['appendToStream, 1000 × 1 event per turn', rate(single.result), rate(single.result) / rawInsertRate],
    ['appendToStream, 10 × 100 events per turn', rate(hundred.result), rate(hundred.result) / rawInsertRate],
    ['raw read + JSON.parse (median of 3)', rawReadRate, null],
    [`rebuild of ${allProjections.length} read models`, rate(rebuilt), rate(rebuilt) / rawReadRate],
  ]
  console.log(`${'measurement'.padEnd(44)} ${'events/s'.padStart(10)}  ratio   target`)
  for (const [name, perSecond, ratio] of rows) {
    const verdict = ratio === null ? '' : `${ratio.toFixed(2)}×  ${ratio >= TARGET ? `≥ ${TARGET}× met` : `< ${TARGET}× NOT met`}`
    console.log(`${name.padEnd(44)} ${fmt(perSecond)}  ${verdict}`)
  }
}

main()
  .catch((error: unknown) => {
    console.error(error)
    process.exitCode = 1
  })
  .finally(() => rmSync(root, { recursive: true, force: true }))
