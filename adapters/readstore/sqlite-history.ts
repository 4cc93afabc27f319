/**
 * The reading history on SQLite, in the read models' file: each (thing, channel) gets an
 * integer series id, and points sit in a table clustered on (series, time, position,
 * index), so a time range of one channel is one contiguous index range. Numbers are stored as
 * numbers, other values (several numbers, text) as JSON text. A commit writes its points
 * and the checkpoint in one transaction.
 */
import type { Statement } from 'better-sqlite3'
import type { Checkpoint } from '../../domain/ports/read-store.ts'
import {
  aggregateByScanning,
  readingHistoryName,
  type AggregateFunction,
  type BucketValue,
  type HistoryPoint,
  type PointQuery,
  type ReadingHistoryStore,
  type ReadingValue,
  type SeriesRange,
  type StoredPoint,
} from '../../projections/reading-history.ts'
import { commitDerived, type SqliteDatabase } from '../sqlite/database.ts'

type PointRow = [ts: number, position: number, index: number, value: number | string]

interface NumericRow {
  n: number
  /** the most components a reading of the bucket has (a number has one) */
  len: number | null
  multi: number | null
  c0: number | null
  c1: number | null
  c2: number | null
  c3: number | null
}

/** Components SQL aggregates (the Cayenne libraries send at most 4 values); longer readings are scanned. */
const sqlComponents = 4
/** With fewer points than this per bucket (or few in all), reading them beats one query per bucket. */
const scanBelowPerBucket = 8
const scanBelow = 2000

const isArray = "typeof(value) = 'text' AND json_type(value) = 'array'"
const component = (k: number): string =>
  k === 0
    ? `CASE WHEN typeof(value) IN ('integer', 'real') THEN value WHEN ${isArray} THEN json_extract(value, '$[0]') END`
    : `CASE WHEN ${isArray} THEN json_extract(value, '$[${k}]') END`
const numericFunctions = ['avg', 'min', 'max', 'sum'] as const

const seriesKey = (thingId: string, channel: string): string => `${thingId}\u0000${channel}`

const stored = (value: ReadingValue): number | string => (typeof value === 'number' ? value : JSON.stringify(value))
const read = (value: number | string): ReadingValue => (typeof value === 'number' ? value : (JSON.parse(value) as ReadingValue))

export class SqliteReadingHistory implements ReadingHistoryStore {
  /** series ids already known; a reset forgets them */
  private readonly series = new Map<string, number>()
  private statements:
    | {
        selectSeries: Statement<[string, string], { id: number }>
        insertSeries: Statement<[string, string]>
        insertPoint: Statement<[number, number, number, number, number | string]>
        replacePoint: Statement<[number, number, number, number, number | string]>
        deletePoint: Statement<[number, number, number, number]>
        selectPoints: Statement<[number, number, number, number], PointRow>
        selectPointsAfter: Statement<[number, number, number, number, number, number, number], PointRow>
        countPoints: Statement<[number, number, number], { n: number }>
        firstPoint: Statement<[number, number, number], { value: number | string }>
        lastPoint: Statement<[number, number, number], { value: number | string }>
        numeric: Record<(typeof numericFunctions)[number], Statement<[number, number, number], NumericRow>>
        plain: Record<(typeof numericFunctions)[number], Statement<[number, number, number], { texts: number | null; v: number | null }>>
        selectCheckpoint: Statement<[string], { position: number | null; version: number }>
        upsertCheckpoint: Statement<[string, number | null, number]>
      }
    | undefined

  constructor(private readonly db: SqliteDatabase) {}

  async prepare(): Promise<void> {
    if (this.statements) return
    const db = this.db
    db.transaction(() => {
      // Points made before readings had an index (readingHistoryVersion 1) are keyed by
      // (series, ts, position) alone: that table goes. Nothing is lost: the version changed,
      // so the projector resets the history and rebuilds every point from the log.
      const columns = db.pragma('table_info(reading_points)') as { name: string }[]
      if (columns.length > 0 && !columns.some((c) => c.name === 'idx')) db.exec('DROP TABLE reading_points')
      db.exec(`
        CREATE TABLE IF NOT EXISTS reading_series (
          id       INTEGER PRIMARY KEY,
          thing_id TEXT NOT NULL,
          channel  TEXT NOT NULL,
          UNIQUE (thing_id, channel)
        );
        CREATE TABLE IF NOT EXISTS reading_points (
          series   INTEGER NOT NULL,
          ts       INTEGER NOT NULL,
          position INTEGER NOT NULL,
          idx      INTEGER NOT NULL,
          value    NOT NULL,
          PRIMARY KEY (series, ts, position, idx)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS checkpoints (
          name     TEXT PRIMARY KEY,
          position INTEGER,
          version  INTEGER NOT NULL
        ) WITHOUT ROWID;
      `)
    })()
    this.statements = {
      selectSeries: db.prepare('SELECT id FROM reading_series WHERE thing_id = ? AND channel = ?'),
      insertSeries: db.prepare('INSERT INTO reading_series (thing_id, channel) VALUES (?, ?)'),
      insertPoint: db.prepare('INSERT OR IGNORE INTO reading_points (series, ts, position, idx, value) VALUES (?, ?, ?, ?, ?)'),
      replacePoint: db.prepare('INSERT OR REPLACE INTO reading_points (series, ts, position, idx, value) VALUES (?, ?, ?, ?, ?)'),
      deletePoint: db.prepare('DELETE FROM reading_points WHERE series = ? AND ts = ? AND position = ? AND idx = ?'),
      selectPoints: db
        .prepare<[number, number, number, number], PointRow>(
          'SELECT ts, position, idx, value FROM reading_points WHERE series = ? AND ts >= ? AND ts < ? ORDER BY ts, position, idx LIMIT ?',
        )
        .raw(true),
      selectPointsAfter: db
        .prepare<[number, number, number, number, number, number, number], PointRow>(
          // A row value, so the next page starts where the index range left off instead of at `from`.
          `SELECT ts, position, idx, value FROM reading_points
           WHERE series = ? AND ts >= ? AND ts < ? AND (ts, position, idx) > (?, ?, ?)
           ORDER BY ts, position, idx LIMIT ?`,
        )
        .raw(true),
      countPoints: db.prepare('SELECT count(*) AS n FROM reading_points WHERE series = ? AND ts >= ? AND ts < ?'),
      firstPoint: db.prepare('SELECT value FROM reading_points WHERE series = ? AND ts >= ? AND ts < ? ORDER BY ts, position, idx LIMIT 1'),
      lastPoint: db.prepare('SELECT value FROM reading_points WHERE series = ? AND ts >= ? AND ts < ? ORDER BY ts DESC, position DESC, idx DESC LIMIT 1'),
      numeric: Object.fromEntries(
        numericFunctions.map((fn) => [
          fn,
          db.prepare(
            `SELECT count(*) AS n,
                    max(CASE WHEN typeof(value) IN ('integer', 'real') THEN 1 WHEN ${isArray} THEN json_array_length(value) ELSE 0 END) AS len,
                    max(${isArray}) AS multi,
                    ${Array.from({ length: sqlComponents }, (_, k) => `${fn}(${component(k)}) AS c${k}`).join(', ')}
             FROM reading_points WHERE series = ? AND ts >= ? AND ts < ?`,
          ),
        ]),
      ) as Record<(typeof numericFunctions)[number], Statement<[number, number, number], NumericRow>>,
      // Numbers only (the usual channel): a plain aggregate, several times faster than picking components.
      plain: Object.fromEntries(
        numericFunctions.map((fn) => [
          fn,
          db.prepare(`SELECT max(typeof(value) = 'text') AS texts, ${fn}(value) AS v FROM reading_points WHERE series = ? AND ts >= ? AND ts < ?`),
        ]),
      ) as Record<(typeof numericFunctions)[number], Statement<[number, number, number], { texts: number | null; v: number | null }>>,
      selectCheckpoint: db.prepare('SELECT position, version FROM checkpoints WHERE name = ?'),
      upsertCheckpoint: db.prepare(
        `INSERT INTO checkpoints (name, position, version) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET position = excluded.position, version = excluded.version`,
      ),
    }
  }

  private get s() {
    if (!this.statements) throw new Error('the reading history was not prepared (prepare())')
    return this.statements
  }

  private seriesOf(thingId: string, channel: string): number | undefined {
    const key = seriesKey(thingId, channel)
    let id = this.series.get(key)
    if (id === undefined) {
      id = this.s.selectSeries.get(thingId, channel)?.id
      if (id !== undefined) this.series.set(key, id)
    }
    return id
  }

  async loadCheckpoint(): Promise<Checkpoint | undefined> {
    const row = this.s.selectCheckpoint.get(readingHistoryName)
    return row ? { position: row.position, version: row.version } : undefined
  }

  async commit(points: readonly HistoryPoint[], checkpoint: Checkpoint): Promise<void> {
    const s = this.s
    const created = new Map<string, number>()
    // an event's points follow each other, mostly of one series: its id is looked up once
    let last: { readonly thingId: string; readonly channel: string; readonly id: number } | undefined
    commitDerived(this.db, () => {
      for (const point of points) {
        let id: number | undefined
        if (last !== undefined && last.thingId === point.thingId && last.channel === point.channel) {
          id = last.id
        } else {
          const key = seriesKey(point.thingId, point.channel)
          id = created.get(key) ?? this.seriesOf(point.thingId, point.channel)
          if (id === undefined) {
            id = Number(s.insertSeries.run(point.thingId, point.channel).lastInsertRowid)
            created.set(key, id)
          }
          last = { thingId: point.thingId, channel: point.channel, id }
        }
        if (point.replaces === undefined) {
          s.insertPoint.run(id, point.ts, point.position, point.index, stored(point.value))
          continue
        }
        if (point.replaces.channel !== point.channel) {
          const from = created.get(seriesKey(point.thingId, point.replaces.channel)) ?? this.seriesOf(point.thingId, point.replaces.channel)
          if (from !== undefined) s.deletePoint.run(from, point.ts, point.position, point.index)
        }
        s.replacePoint.run(id, point.ts, point.position, point.index, stored(point.value))
      }
      s.upsertCheckpoint.run(readingHistoryName, checkpoint.position, checkpoint.version)
    })
    // Only once committed: a rolled-back series id must not be remembered.
    for (const [key, id] of created) this.series.set(key, id)
  }

  async reset(): Promise<void> {
    this.db.transaction(() => {
      this.db.exec('DELETE FROM reading_points; DELETE FROM reading_series')
      this.db.prepare('DELETE FROM checkpoints WHERE name = ?').run(readingHistoryName)
    })()
    this.series.clear()
  }

  async count(query: SeriesRange): Promise<number> {
    const id = this.seriesOf(query.thingId, query.channel)
    if (id === undefined) return 0
    return this.s.countPoints.get(id, query.from, query.to)?.n ?? 0
  }

  async points(query: PointQuery): Promise<StoredPoint[]> {
    const id = this.seriesOf(query.thingId, query.channel)
    if (id === undefined || query.limit <= 0) return []
    const rows = query.after
      ? this.s.selectPointsAfter.all(id, query.from, query.to, query.after.ts, query.after.position, query.after.index, query.limit)
      : this.s.selectPoints.all(id, query.from, query.to, query.limit)
    return rows.map(([ts, position, index, value]) => ({ ts, position, index, value: read(value) }))
  }

  /** One indexed query per bucket, aggregated by SQLite: a year of minute readings is never carried into JS. */
  async aggregate(range: SeriesRange, boundaries: readonly number[], fn: AggregateFunction): Promise<BucketValue[]> {
    const empty = fn === 'count' ? 0 : null
    const id = this.seriesOf(range.thingId, range.channel)
    if (id === undefined) return boundaries.slice(1).map(() => empty)
    const s = this.s
    const points = s.countPoints.get(id, range.from, range.to)?.n ?? 0
    if (points < Math.max(scanBelow, scanBelowPerBucket * (boundaries.length - 1))) return aggregateByScanning(this, range, boundaries, fn)
    const values: BucketValue[] = []
    for (let i = 0; i + 1 < boundaries.length; i++) {
      const from = Math.max(range.from, boundaries[i]!)
      const to = Math.min(range.to, boundaries[i + 1]!)
      if (to <= from) {
        values.push(empty)
        continue
      }
      if (fn === 'count') {
        values.push(s.countPoints.get(id, from, to)?.n ?? 0)
      } else if (fn === 'first' || fn === 'last') {
        const row = (fn === 'first' ? s.firstPoint : s.lastPoint).get(id, from, to)
        values.push(row ? read(row.value) : null)
      } else {
        const plain = s.plain[fn].get(id, from, to)!
        if (plain.texts === null || plain.texts === 0) {
          values.push(plain.v)
          continue
        }
        const row = s.numeric[fn].get(id, from, to)!
        if ((row.len ?? 0) > sqlComponents) return aggregateByScanning(this, range, boundaries, fn)
        const components = [row.c0, row.c1, row.c2, row.c3].slice(0, row.len ?? 0)
        values.push(components.every((c) => c === null) ? null : row.multi ? components : row.c0)
      }
    }
    return values
  }
}
