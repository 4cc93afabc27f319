/**
 * ReadStore on SQLite: one table per collection holding each document as JSON, with an
 * expression index per declared field. A projection batch and its checkpoints commit in
 * one transaction, so a crash never leaves a read model ahead of or behind its checkpoint.
 */
import type {
  Checkpoint,
  CollectionSpec,
  Document,
  DocumentChange,
  FindOptions,
  ReadCollection,
  ReadStore,
  Scalar,
} from '../../domain/ports/read-store.ts'
import { commitDerived, type SqliteDatabase } from '../sqlite/database.ts'
import type { Statement } from 'better-sqlite3'
import { SqliteReadingHistory } from './sqlite-history.ts'

const identifier = /^[a-z][a-z0-9_]{0,62}$/

function checkIdentifier(kind: string, name: string): string {
  if (!identifier.test(name)) throw new Error(`Invalid ${kind} name "${name}"`)
  return name
}

const tableOf = (collection: string): string => `rm_${checkIdentifier('collection', collection)}`
const fieldExpr = (field: string): string => `json_extract(doc, '$.${checkIdentifier('field', field)}')`

/** SQLite's JSON functions give booleans back as 1 and 0. */
const bindable = (value: Scalar): string | number | null => (typeof value === 'boolean' ? (value ? 1 : 0) : value)

type Filter = Readonly<Record<string, Scalar | readonly Scalar[]>>

function whereClause(filter: Filter): { sql: string; params: (string | number | null)[] } {
  const parts: string[] = []
  const params: (string | number | null)[] = []
  for (const [field, value] of Object.entries(filter)) {
    if (Array.isArray(value)) {
      // SQL's IN never matches NULL, so a null among the values is its own IS NULL test.
      const values = (value as readonly Scalar[]).filter((v) => v !== null)
      const alternatives: string[] = []
      if (values.length > 0) {
        alternatives.push(`${fieldExpr(field)} IN (${values.map(() => '?').join(', ')})`)
        params.push(...values.map(bindable))
      }
      if (values.length < value.length) alternatives.push(`${fieldExpr(field)} IS NULL`)
      // An empty array matches nothing.
      parts.push(alternatives.length > 0 ? `(${alternatives.join(' OR ')})` : '0')
    } else if (value === null) {
      parts.push(`${fieldExpr(field)} IS NULL`)
    } else {
      parts.push(`${fieldExpr(field)} = ?`)
      params.push(bindable(value as Scalar))
    }
  }
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params }
}

class SqliteCollection<D extends Document> implements ReadCollection<D> {
  private readonly byId: Statement<[string], { doc: string }>

  constructor(
    private readonly db: SqliteDatabase,
    private readonly table: string,
  ) {
    this.byId = db.prepare(`SELECT doc FROM ${table} WHERE id = ?`)
  }

  async get(id: string): Promise<D | undefined> {
    const row = this.byId.get(id)
    return row ? (JSON.parse(row.doc) as D) : undefined
  }

  async find(filter: Filter, options: FindOptions = {}): Promise<D[]> {
    const where = whereClause(filter)
    const order = options.orderBy ? `ORDER BY ${fieldExpr(options.orderBy)} ${options.descending ? 'DESC' : 'ASC'}, id` : 'ORDER BY id'
    const limit = options.limit ?? -1
    const offset = options.offset ?? 0
    if (!Number.isInteger(limit) || !Number.isInteger(offset) || offset < 0) {
      throw new RangeError('limit and offset must be whole numbers')
    }
    const rows = this.db
      .prepare<(string | number | null)[], { doc: string }>(`SELECT doc FROM ${this.table} ${where.sql} ${order} LIMIT ? OFFSET ?`)
      .all(...where.params, limit, offset)
    return rows.map((row) => JSON.parse(row.doc) as D)
  }

  async count(filter: Filter): Promise<number> {
    const where = whereClause(filter)
    const row = this.db
      .prepare<(string | number | null)[], { n: number }>(`SELECT count(*) AS n FROM ${this.table} ${where.sql}`)
      .get(...where.params)
    return row?.n ?? 0
  }
}

export class SqliteReadStore implements ReadStore {
  private readonly collections = new Map<string, SqliteCollection<Document>>()
  private readonly upserts = new Map<string, Statement<[string, string, number]>>()
  private readonly deletes = new Map<string, Statement<[string]>>()
  private readonly selectCheckpoint
  private readonly upsertCheckpoint
  private history: SqliteReadingHistory | undefined

  constructor(private readonly db: SqliteDatabase) {
    db.exec(`CREATE TABLE IF NOT EXISTS checkpoints (
      name     TEXT PRIMARY KEY,
      position INTEGER,
      version  INTEGER NOT NULL
    ) WITHOUT ROWID`)
    this.selectCheckpoint = db.prepare<[string], { position: number | null; version: number }>(
      'SELECT position, version FROM checkpoints WHERE name = ?',
    )
    this.upsertCheckpoint = db.prepare<[string, number | null, number]>(
      `INSERT INTO checkpoints (name, position, version) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET position = excluded.position, version = excluded.version`,
    )
  }

  async ensureCollection(spec: CollectionSpec): Promise<void> {
    const table = tableOf(spec.name)
    this.db.exec(`CREATE TABLE IF NOT EXISTS ${table} (
      id       TEXT PRIMARY KEY,
      doc      TEXT NOT NULL,
      position INTEGER NOT NULL
    )`)
    for (const field of spec.indexes) {
      this.db.exec(`CREATE INDEX IF NOT EXISTS ${table}_${checkIdentifier('field', field)} ON ${table} (${fieldExpr(field)})`)
    }
    this.upserts.set(
      spec.name,
      this.db.prepare(
        `INSERT INTO ${table} (id, doc, position) VALUES (?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, position = excluded.position`,
      ),
    )
    this.deletes.set(spec.name, this.db.prepare(`DELETE FROM ${table} WHERE id = ?`))
    this.collections.set(spec.name, new SqliteCollection(this.db, table))
  }

  collection<D extends Document>(name: string): ReadCollection<D> {
    const collection = this.collections.get(name)
    if (!collection) throw new Error(`Collection "${name}" was not declared (ensureCollection)`)
    return collection as unknown as ReadCollection<D>
  }

  async commit(changes: readonly DocumentChange[], checkpoints: ReadonlyMap<string, Checkpoint>): Promise<void> {
    commitDerived(this.db, () => {
      for (const change of changes) {
        if (change.doc === null) {
          this.statement(this.deletes, change.collection).run(change.id)
        } else {
          this.statement(this.upserts, change.collection).run(change.id, JSON.stringify(change.doc), change.position)
        }
      }
      for (const [name, checkpoint] of checkpoints) {
        this.upsertCheckpoint.run(name, checkpoint.position, checkpoint.version)
      }
    })
  }

  private statement<S>(statements: Map<string, S>, collection: string): S {
    const statement = statements.get(collection)
    if (!statement) throw new Error(`Collection "${collection}" was not declared (ensureCollection)`)
    return statement
  }

  async loadCheckpoint(name: string): Promise<Checkpoint | undefined> {
    const row = this.selectCheckpoint.get(name)
    return row ? { position: row.position, version: row.version } : undefined
  }

  async reset(collection: string, checkpointName: string): Promise<void> {
    const table = tableOf(collection)
    this.db.transaction(() => {
      this.db.exec(`DELETE FROM ${table}`)
      this.db.prepare('DELETE FROM checkpoints WHERE name = ?').run(checkpointName)
    })()
  }

  readingHistory(): SqliteReadingHistory {
    return (this.history ??= new SqliteReadingHistory(this.db))
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get()
  }

  async close(): Promise<void> {
    // The database is owned and closed by the composition root.
  }
}
