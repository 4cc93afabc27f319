/**
 * Store benchmark (`npm run bench:store`): how close the embedded engine's adapters come
 * to what raw better-sqlite3 does on the same file, in one run, on fresh temp directories.
 *
 *   1. raw batched insert: a prepared INSERT into a plain table, B rows per transaction
 *   2. SqliteEventStore.appendToStream, issued concurrently so group commit batches them
 *      (a: B appends of 1 event per turn; b: B/100 appends of 100 events per turn)
 *   3. raw read: every row of `events` by position, data and metadata JSON.parse'd
 *   4. ProjectionRunner.rebuild with allProjections over the whole log
 *
 * Targets: appends ≥ 0.5× raw insert, rebuild ≥ 0.5× raw read. Reference rows split the
 * gaps into their parts (schema and index, JSON, promises, projections). Every timed run
 * follows an untimed warm-up; each figure is the median of BENCH_RUNS runs. Data is
 * generated from a fixed seed, so every run writes the same bytes.
 *
 * Environment: BENCH_EVENTS (default 200000), BENCH_RUNS (default 3).
 * A benchmark, not a test: exits 0 whether or not the targets are met.
 */
import Database from 'better-sqlite3'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { EventMetadata, EventToAppend, ExpectedRevision } from '../commands/event-store.ts'
import type {
  ThingTypeCategory,
  ThingTypeFields,
  ThingTypeRegistered,
  ThingTypeUpdated,
  TransportProtocol,
} from '../domain/thing-type/thing-type.ts'
import { thingTypeStreamName } from '../domain/thing-type/thing-type.ts'
import { SqliteEventStore } from '../adapters/eventstore/sqlite.ts'
import { SqliteReadStore } from '../adapters/readstore/sqlite.ts'
import { openDatabase, type SqliteDatabase } from '../adapters/sqlite/database.ts'
import { allProjections } from '../projections/index.ts'
import { ProjectionRunner, type RunnerLogger } from '../projections/runner.ts'

// Configuration ----------------------------------------------------------------------

function positiveInteger(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 1) {
    process.stderr.write(`${name} must be a positive integer, not "${raw}"\n`)
    process.exit(2)
  }
  return value
}

/** events written and read by every measurement */
const N = positiveInteger('BENCH_EVENTS', 200_000)
/** timed runs per measurement; the median is reported */
const RUNS = positiveInteger('BENCH_RUNS', 3)
/** rows per raw transaction, and events per group commit in the append shapes */
const B = 1000
/** events per append in shape 2b; B / BIG appends are issued per turn */
const BIG = 100
/** shape 2a: each stream (thing type) gets about this many events: 1 registration, then updates */
const EVENTS_PER_STREAM = 20
/** the warm-up dataset */
const WARMUP = Math.min(N, 20_000)
/** reference: appends awaited one at a time (one commit, one fsync each) */
const SEQUENTIAL = Math.min(N, 300)
const TARGET = 0.5

const silentLogger: RunnerLogger = { info: () => undefined, warn: () => undefined, error: () => undefined }

// Deterministic, realistic data ------------------------------------------------------

/** mulberry32: a small seeded PRNG, so every run writes the same data */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

type Random = () => number

const hex8 = (random: Random): string => Math.floor(random() * 0x100000000).toString(16).padStart(8, '0')

/** a v4-shaped UUID from the seeded generator (random ids spread over the stream index, as real ones do) */
function uuid(random: Random): string {
  const h = hex8(random) + hex8(random) + hex8(random) + hex8(random)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[Math.floor(random() * 4)]}${h.slice(17, 20)}-${h.slice(20, 32)}`
}

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!
}

const names = ['Greenhouse', 'Cold room', 'Boiler', 'Beehive', 'Water tank', 'Soil probe', 'Gate', 'Weather mast']
const kinds = ['temperature sensor', 'humidity probe', 'relay board', 'gateway', 'level sensor', 'LoRa node']
const manufacturers = ['Espressif', 'Raspberry Pi Ltd', 'Arduino', 'Adafruit', 'Seeed Studio', null]
const models = ['ESP32-WROOM-32', 'Pi 4 Model B', 'MKR WAN 1310', 'Feather M0', 'Wio Terminal', null]
const protocols: readonly TransportProtocol[] = ['mqtt', 'mqtt', 'http', 'tcp']
const categories: readonly (ThingTypeCategory | null)[] = ['sensor', 'actuator', 'computer', 'module', null]
const subcategories = ['temperature', 'humidity', 'relay', 'luminosity', null]
const dataTypes = ['temp', 'rel_hum', 'digital_actuator', 'lum', null]

function fields(random: Random, serial: number): ThingTypeFields {
  return {
    name: `${pick(random, names)} ${pick(random, kinds)} #${serial}`,
    description: `${pick(random, kinds)} installed by the field team, revision ${Math.floor(random() * 9) + 1}; reports every ${Math.floor(random() * 60) + 1} min`,
    model: pick(random, models),
    version: `${Math.floor(random() * 4)}.${Math.floor(random() * 10)}.${Math.floor(random() * 20)}`,
    manufacturer: pick(random, manufacturers),
    transportProtocol: pick(random, protocols),
    protocolVersion: '1.1',
    category: pick(random, categories),
    subcategory: pick(random, subcategories),
    dataType: pick(random, dataTypes),
  }
}

function changes(random: Random, serial: number): Partial<ThingTypeFields> {
  const all = fields(random, serial)
  const keys = Object.keys(all) as (keyof ThingTypeFields)[]
  const chosen: Record<string, unknown> = {}
  const count = 1 + Math.floor(random() * 3)
  for (let i = 0; i < count; i++) {
    const key = pick(random, keys)
    chosen[key] = all[key]
  }
  return chosen as Partial<ThingTypeFields>
}

interface Principal {
  readonly accountId: string
  readonly userId: string
  readonly clientId: string
}

/** Streams, accounts, users and a clock, shared by one dataset's events. */
class Workload {
  private readonly random: Random
  private readonly principals: Principal[] = []
  private clock = Date.parse('2025-01-01T00:00:00.000Z')
  private serial = 0

  constructor(seed: number) {
    this.random = prng(seed)
    for (let i = 0; i < 200; i++) {
      this.principals.push({ accountId: uuid(this.random), userId: uuid(this.random), clientId: uuid(this.random) })
    }
  }

  principal(): Principal {
    return pick(this.random, this.principals)
  }

  newTypeId(): string {
    return uuid(this.random)
  }

  /** what commands/handle-command.ts builds: the request's principal and id, and the decision time */
  metadata(principal: Principal): EventMetadata {
    this.clock += 1 + Math.floor(this.random() * 50)
    const requestId = uuid(this.random)
    return {
      actor: { type: 'user', id: principal.userId },
      account_id: principal.accountId,
      client_id: principal.clientId,
      correlation_id: requestId,
      causation_id: requestId,
      time: new Date(this.clock).toISOString(),
    }
  }

  registered(typeId: string, principal: Principal, metadata: EventMetadata): EventToAppend<ThingTypeRegistered> {
    return {
      id: uuid(this.random),
      type: 'ThingTypeRegistered',
      data: { ...fields(this.random, ++this.serial), typeId, accountId: principal.accountId, registeredAt: metadata.time },
      metadata,
    }
  }

  updated(typeId: string, metadata: EventMetadata): EventToAppend<ThingTypeUpdated> {
    return {
      id: uuid(this.random),
      type: 'ThingTypeUpdated',
      data: { typeId, changes: changes(this.random, ++this.serial), updatedAt: metadata.time },
      metadata,
    }
  }
}

interface Append {
  readonly stream: string
  readonly events: readonly EventToAppend[]
  readonly expectedRevision: ExpectedRevision
}

/**
 * Shape a: `count` appends of one event. Event k goes to stream k mod S at revision
 * floor(k / S); S is a multiple of B, so the B appends of one turn touch B distinct
 * streams, each with the revision it last saw, as the command handler would.
 */
function singleEventAppends(count: number, seed: number): { appends: Append[]; streams: number } {
  const w = new Workload(seed)
  const streams = Math.max(B, Math.ceil(count / EVENTS_PER_STREAM / B) * B)
  const types: { id: string; stream: string; principal: Principal }[] = []
  const appends: Append[] = []
  for (let k = 0; k < count; k++) {
    const s = k % streams
    const revision = Math.floor(k / streams)
    if (revision === 0) {
      const id = w.newTypeId()
      types.push({ id, stream: thingTypeStreamName(id), principal: w.principal() })
    }
    const type = types[s]!
    const metadata = w.metadata(type.principal)
    const event = revision === 0 ? w.registered(type.id, type.principal, metadata) : w.updated(type.id, metadata)
    appends.push({ stream: type.stream, events: [event], expectedRevision: revision === 0 ? 'no_stream' : revision - 1 })
  }
  return { appends, streams: Math.min(streams, count) }
}

/** Shape b: appends of BIG events (a registration and its updates) to new streams, one metadata per append. */
function bigAppends(count: number, seed: number): Append[] {
  const w = new Workload(seed)
  const appends: Append[] = []
  for (let k = 0; k < count; k += BIG) {
    const id = w.newTypeId()
    const principal = w.principal()
    const metadata = w.metadata(principal)
    const events: EventToAppend[] = [w.registered(id, principal, metadata)]
    for (let i = 1; i < Math.min(BIG, count - k); i++) events.push(w.updated(id, metadata))
    appends.push({ stream: thingTypeStreamName(id), events, expectedRevision: 'no_stream' })
  }
  return appends
}

type Row = [id: string, stream: string, revision: number, type: string, data: string, metadata: string]

/** The rows the event store would write for these appends, JSON already serialized. */
function rowsOf(appends: readonly Append[]): Row[] {
  const heads = new Map<string, number>()
  const rows: Row[] = []
  for (const append of appends) {
    let revision = heads.get(append.stream) ?? -1
    for (const e of append.events) {
      revision += 1
      rows.push([e.id, append.stream, revision, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata)])
    }
    heads.set(append.stream, revision)
  }
  return rows
}

// Timing -----------------------------------------------------------------------------

let root = ''
let dirCount = 0

/** A fresh directory under the run's temp root. */
function freshDir(label: string): string {
  const dir = join(root, `${String(++dirCount).padStart(3, '0')}-${label}`)
  mkdirSync(dir)
  return dir
}

const now = (): bigint => process.hrtime.bigint()
const seconds = (from: bigint, to: bigint): number => Number(to - from) / 1e9

interface Measurement {
  readonly label: string
  readonly count: number
  /** seconds of each timed run */
  readonly times: readonly number[]
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const rateOf = (m: Measurement): number => m.count / median(m.times)

/**
 * One untimed warm-up, then RUNS timed runs. `run` returns the seconds its timed part
 * took (setup such as opening a fresh database stays outside) and the items it handled.
 */
async function measure(
  label: string,
  warmup: () => Promise<unknown> | unknown,
  run: () => Promise<{ seconds: number; count: number }> | { seconds: number; count: number },
): Promise<Measurement> {
  await warmup()
  const times: number[] = []
  let count = 0
  for (let i = 0; i < RUNS; i++) {
    const result = await run()
    times.push(result.seconds)
    count = result.count
  }
  const m: Measurement = { label, count, times }
  process.stderr.write(`  ${label}: ${format(rateOf(m))}/s\n`)
  return m
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(`benchmark sanity check failed: ${message}`)
}

// 1. Raw batched insert ----------------------------------------------------------------

const plainTable = `CREATE TABLE raw_events (
  position INTEGER PRIMARY KEY,
  id TEXT NOT NULL, stream TEXT NOT NULL, revision INTEGER NOT NULL,
  type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL
)`

function rawInsert(rows: readonly Row[]): { seconds: number; count: number } {
  const db = openDatabase(freshDir('raw-insert'))
  try {
    db.exec(plainTable)
    const insert = db.prepare<Row>('INSERT INTO raw_events (id, stream, revision, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)')
    const insertBatch = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) insert.run(...rows[i]!)
    })
    const started = now()
    for (let from = 0; from < rows.length; from += B) insertBatch(from, Math.min(from + B, rows.length))
    const elapsed = seconds(started, now())
    check(db.prepare<[], { n: number }>('SELECT count(*) AS n FROM raw_events').get()?.n === rows.length, 'raw row count')
    return { seconds: elapsed, count: rows.length }
  } finally {
    db.close()
  }
}

/**
 * Reference: what flush() does, inline and without promises: the events table (with its
 * UNIQUE (stream, revision) index), a head lookup per append, JSON.stringify per event.
 */
function rawAdapterEquivalent(appends: readonly Append[], perTurn: number): { seconds: number; count: number } {
  const db = openDatabase(freshDir('raw-equivalent'))
  try {
    new SqliteEventStore(db) // creates the events table exactly as the adapter does
    const head = db.prepare<[string], { revision: number }>(
      'SELECT revision FROM events WHERE stream = ? ORDER BY revision DESC LIMIT 1',
    )
    const insert = db.prepare<Row>('INSERT INTO events (id, stream, revision, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)')
    let position = 0
    const batch = db.transaction((from: number, to: number) => {
      for (let a = from; a < to; a++) {
        const append = appends[a]!
        let revision = head.get(append.stream)?.revision ?? -1
        for (const e of append.events) {
          revision += 1
          const info = insert.run(e.id, append.stream, revision, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata))
          position = Number(info.lastInsertRowid)
        }
      }
    })
    const started = now()
    for (let from = 0; from < appends.length; from += perTurn) batch(from, Math.min(from + perTurn, appends.length))
    const elapsed = seconds(started, now())
    return { seconds: elapsed, count: position }
  } finally {
    db.close()
  }
}

// 2. Our appends ---------------------------------------------------------------------

/** Issues `perTurn` appends in one turn (one group commit), awaits them all, repeats. */
async function storeAppends(
  appends: readonly Append[],
  perTurn: number,
  keep?: (dir: string) => void,
): Promise<{ seconds: number; count: number }> {
  const dir = freshDir('appends')
  const db = openDatabase(dir)
  const store = new SqliteEventStore(db)
  try {
    let count = 0
    for (const append of appends) count += append.events.length
    const started = now()
    for (let from = 0; from < appends.length; from += perTurn) {
      const inFlight: Promise<unknown>[] = []
      for (let a = from; a < Math.min(from + perTurn, appends.length); a++) {
        const append = appends[a]!
        inFlight.push(store.appendToStream(append.stream, append.events, { expectedRevision: append.expectedRevision }))
      }
      await Promise.all(inFlight)
    }
    const elapsed = seconds(started, now())
    check((await store.headPosition()) === count, 'appended event count')
    keep?.(dir)
    return { seconds: elapsed, count }
  } finally {
    await store.close()
    db.close()
  }
}

/** Reference: appends awaited one by one, so every event pays a commit and an fsync. */
async function sequentialAppends(appends: readonly Append[]): Promise<{ seconds: number; count: number }> {
  const db = openDatabase(freshDir('sequential'))
  const store = new SqliteEventStore(db)
  try {
    const started = now()
    for (const append of appends) {
      await store.appendToStream(append.stream, append.events, { expectedRevision: append.expectedRevision })
    }
    return { seconds: seconds(started, now()), count: appends.length }
  } finally {
    await store.close()
    db.close()
  }
}

// 3. Raw read ------------------------------------------------------------------------

function rawRead(db: SqliteDatabase): { seconds: number; count: number } {
  const select = db.prepare<[], { position: number; id: string; stream: string; revision: number; type: string; data: string; metadata: string }>(
    'SELECT position, id, stream, revision, type, data, metadata FROM events ORDER BY position',
  )
  let count = 0
  let sink = 0
  const started = now()
  for (const row of select.iterate()) {
    const data = JSON.parse(row.data) as { typeId: string }
    const metadata = JSON.parse(row.metadata) as EventMetadata
    sink += data.typeId.length + metadata.time.length + row.revision
    count++
  }
  const elapsed = seconds(started, now())
  check(sink > 0, 'raw read saw data')
  return { seconds: elapsed, count }
}

/** Reference: the rebuild's read path alone, SqliteEventStore.readAll in the runner's pages. */
async function storeReadAll(db: SqliteDatabase): Promise<{ seconds: number; count: number }> {
  const store = new SqliteEventStore(db)
  let count = 0
  let from: number | null = null
  const started = now()
  for (;;) {
    const events = await store.readAll({ fromPosition: from, maxCount: 5000 })
    if (events.length === 0) break
    count += events.length
    from = events[events.length - 1]!.position
  }
  return { seconds: seconds(started, now()), count }
}

// 4. Rebuild -------------------------------------------------------------------------

async function rebuild(db: SqliteDatabase, expectedDocuments?: number): Promise<{ seconds: number; count: number }> {
  const eventStore = new SqliteEventStore(db)
  const readStore = new SqliteReadStore(db)
  const runner = new ProjectionRunner({ eventStore, readStore, projections: allProjections, logger: silentLogger })
  let progressCalls = 0
  const started = now()
  const applied = await runner.rebuild(() => {
    progressCalls++
  })
  const elapsed = seconds(started, now())
  check(progressCalls > 0, 'rebuild reported progress')
  if (expectedDocuments !== undefined) {
    check(
      db.prepare<[], { n: number }>('SELECT count(*) AS n FROM rm_thing_types').get()?.n === expectedDocuments,
      'documents in the thing types read model',
    )
  }
  return { seconds: elapsed, count: applied }
}

// Output -----------------------------------------------------------------------------

function format(value: number): string {
  const rounded = Math.round(value)
  return String(rounded).replace(/\B(?=(\d{3})+(?!\d))/g, ',')
}

function spread(m: Measurement): string {
  if (m.times.length < 2) return '-'
  const rates = m.times.map((t) => m.count / t)
  return `±${((((Math.max(...rates) - Math.min(...rates)) / 2) * 100) / rateOf(m)).toFixed(0)}%`
}

function table(headers: readonly string[], rows: readonly (readonly string[])[], rightAligned: readonly number[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (rightAligned.includes(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

function fileSystemOf(path: string): string {
  try {
    const type = statfsSync(path).type
    const known: Record<number, string> = { 0xef53: 'ext2/3/4', 0x01021994: 'tmpfs', 0x58465342: 'xfs', 0x9123683e: 'btrfs', 0x794c7630: 'overlayfs' }
    return known[type] ?? `0x${type.toString(16)}`
  } catch {
    return 'unknown'
  }
}

// Main -------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = now()
  root = mkdtempSync(join(tmpdir(), 'capsicum-bench-'))
  const memory = new Database(':memory:')
  const sqliteVersion = memory.prepare<[], { v: string }>('SELECT sqlite_version() AS v').pluck().get() as unknown as string
  memory.close()
  const driverVersion = (JSON.parse(readFileSync(new URL('../node_modules/better-sqlite3/package.json', import.meta.url), 'utf8')) as { version: string }).version
  const cpu = cpus()

  process.stdout.write(
    [
      'Capsicum store benchmark',
      `  node ${process.version} (${process.platform}/${process.arch}), better-sqlite3 ${driverVersion}, SQLite ${sqliteVersion}`,
      `  cpu: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown'}`,
      `  temp dir: ${root} (${fileSystemOf(root)}); journal_mode=WAL, synchronous=FULL (adapters/sqlite/database.ts)`,
      `  N = ${format(N)} events per measurement (BENCH_EVENTS), B = ${B} rows per transaction / group commit,`,
      `  ${RUNS} timed run(s) per measurement (BENCH_RUNS), median reported, after a warm-up on ${format(WARMUP)} events`,
      '',
    ].join('\n'),
  )
  process.stderr.write('generating data…\n')

  // Same seed for the raw rows and shape a: raw insert writes exactly the rows the store writes.
  const shapeA = singleEventAppends(N, 1)
  const warmA = singleEventAppends(WARMUP, 2).appends
  const shapeB = bigAppends(N, 3)
  const warmB = bigAppends(WARMUP, 4)
  const rows = rowsOf(shapeA.appends)
  const warmRows = rowsOf(warmA)
  const sequential = singleEventAppends(SEQUENTIAL, 5).appends

  process.stderr.write('measuring…\n')
  const insert = await measure('1  raw insert', () => rawInsert(warmRows), () => rawInsert(rows))

  let logDir = ''
  const appendA = await measure(
    '2a appends of 1 event',
    () => storeAppends(warmA, B),
    () => storeAppends(shapeA.appends, B, (dir) => (logDir = dir)),
  )
  const appendB = await measure('2b appends of 100 events', () => storeAppends(warmB, B / BIG), () => storeAppends(shapeB, B / BIG))
  const equivalentA = await measure('   adapter SQL inline, 1-event', () => rawAdapterEquivalent(warmA, B), () => rawAdapterEquivalent(shapeA.appends, B))
  const equivalentB = await measure('   adapter SQL inline, 100-event', () => rawAdapterEquivalent(warmB, B / BIG), () => rawAdapterEquivalent(shapeB, B / BIG))
  const sequentialRun = await measure('   sequential appends', () => sequentialAppends(sequential.slice(0, 20)), () => sequentialAppends(sequential))

  // Reads run on the log written by the last run of 2a, reopened as the CLI's `rebuild`
  // would open it (the writer closed, so the WAL was checkpointed into the file).
  const db = openDatabase(logDir)
  const warmDb = openDatabase(freshDir('warm-log'))
  let read: Measurement
  let readAll: Measurement
  let rebuilt: Measurement
  try {
    // the warm-ups read a small log of their own
    const warmStore = new SqliteEventStore(warmDb)
    for (let from = 0; from < warmA.length; from += B) {
      await Promise.all(
        warmA.slice(from, from + B).map((a) => warmStore.appendToStream(a.stream, a.events, { expectedRevision: a.expectedRevision })),
      )
    }
    await warmStore.close()
    read = await measure('3  raw read', () => rawRead(warmDb), () => rawRead(db))
    readAll = await measure('   readAll pages', () => storeReadAll(warmDb), () => storeReadAll(db))
    rebuilt = await measure('4  rebuild', () => rebuild(warmDb), () => rebuild(db, shapeA.streams))
  } finally {
    warmDb.close()
    db.close()
  }

  // Report -----------------------------------------------------------------------------
  const verdict = (ratio: number): string => (ratio >= TARGET ? 'yes' : 'NO')
  const ratio = (m: Measurement, base: Measurement): number => rateOf(m) / rateOf(base)
  const row = (m: Measurement, unit: string, base?: Measurement, target = false): string[] => {
    const r = base ? ratio(m, base) : undefined
    return [
      m.label,
      format(m.count),
      median(m.times).toFixed(3),
      `${format(rateOf(m))} ${unit}/s`,
      spread(m),
      r === undefined ? '' : `${r.toFixed(2)}×`,
      target ? `≥ ${TARGET}×` : '',
      target && r !== undefined ? verdict(r) : '',
    ]
  }
  const headers = ['measurement', 'count', 'median s', 'rate', 'spread', 'ratio', 'target', 'met']
  const right = [1, 2, 3, 4, 5]

  process.stdout.write(
    [
      'Results',
      table(
        headers,
        [
          row({ ...insert, label: `1  raw insert, plain table, ${B} rows/tx` }, 'rows'),
          row({ ...appendA, label: `2a appendToStream: ${B} × 1 event per turn` }, 'events', insert, true),
          row({ ...appendB, label: `2b appendToStream: ${B / BIG} × ${BIG} events per turn` }, 'events', insert, true),
          row({ ...read, label: '3  raw read by position + JSON.parse' }, 'rows'),
          row({ ...rebuilt, label: '4  ProjectionRunner.rebuild (allProjections)' }, 'events', read, true),
        ],
        right,
      ),
      '',
      'Reference (where the gaps go; ratios against the row named)',
      table(
        headers,
        [
          row(
            { ...equivalentA, label: '2a′ flush() work inline, no promises (vs 1)' },
            'events',
            insert,
          ),
          row({ ...appendA, label: '2a  as above (vs 2a′)' }, 'events', equivalentA),
          row({ ...equivalentB, label: '2b′ flush() work inline, no promises (vs 1)' }, 'events', insert),
          row({ ...appendB, label: '2b  as above (vs 2b′)' }, 'events', equivalentB),
          row({ ...sequentialRun, label: '    sequential awaited appends, 1 commit each' }, 'events'),
          row({ ...readAll, label: '3′  SqliteEventStore.readAll, pages of 5000 (vs 3)' }, 'events', read),
          row({ ...rebuilt, label: '4   as above (vs 3′)' }, 'events', readAll),
        ],
        right,
      ),
      '',
      'Ratios',
      `  appends, ${B} × 1 event per turn   / raw insert = ${ratio(appendA, insert).toFixed(2)}×  (target ≥ ${TARGET}×: ${verdict(ratio(appendA, insert))})`,
      `  appends, ${B / BIG} × ${BIG} events per turn / raw insert = ${ratio(appendB, insert).toFixed(2)}×  (target ≥ ${TARGET}×: ${verdict(ratio(appendB, insert))})`,
      `  rebuild                          / raw read   = ${ratio(rebuilt, read).toFixed(2)}×  (target ≥ ${TARGET}×: ${verdict(ratio(rebuilt, read))})`,
      '',
      `total ${seconds(started, now()).toFixed(1)} s`,
      '',
    ].join('\n'),
  )
}

function cleanUp(): void {
  if (root) rmSync(root, { recursive: true, force: true })
}

process.once('SIGINT', () => {
  cleanUp()
  process.exit(130)
})

try {
  await main()
} catch (error) {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exitCode = 1
} finally {
  cleanUp()
}
