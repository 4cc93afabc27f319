/**
 * ReadStore on MongoDB (the `mongodb` driver, 7.x). One collection per read model, named
 * `rm_<name>`; each holds `{ _id, position, deleted, doc }`, where `doc` is the read
 * model's document exactly as the projection made it and `position` the log position of
 * the change that wrote it. Indexes on `doc.<field>` are created by ensureCollection.
 *
 * A commit is NOT atomic (no multi-document transaction is assumed): its changes are one
 * ordered bulkWrite per collection, then the checkpoints. Each change applies only if the
 * stored position is lower than the change's, and a delete leaves a tombstone that keeps
 * its position, so a batch delivered again after a crash (documents written, checkpoint
 * not) changes nothing: the projections are idempotent under redelivery. Tombstones are
 * invisible to get/find/count and are removed by reset.
 */
import { MongoClient, type AnyBulkWriteOperation, type Collection, type Db, type Filter as MongoFilter } from 'mongodb'
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
import { MongoReadingHistory } from './mongo-history.ts'

export interface MongoReadStoreOptions {
  /** e.g. `mongodb://localhost:27017/?replicaSet=rs0` */
  readonly url: string
  readonly database: string
}

interface Stored {
  _id: string
  position: number
  deleted: boolean
  doc: Document | null
}

interface StoredCheckpoint {
  _id: string
  position: number | null
  version: number
}

type Filter = Readonly<Record<string, Scalar | readonly Scalar[]>>

const identifier = /^[a-z][a-z0-9_]{0,62}$/

function checkIdentifier(kind: string, name: string): string {
  if (!identifier.test(name)) throw new Error(`Invalid ${kind} name "${name}"`)
  return name
}

const collectionName = (name: string): string => `rm_${checkIdentifier('collection', name)}`
const fieldPath = (field: string): string => `doc.${checkIdentifier('field', field)}`

/**
 * The port's filter in MongoDB's terms. Equality is type-strict (the string '3' is not the
 * number 3), `null` matches null and missing fields, an array means any of its values (and
 * an empty array nothing), exactly as in the port.
 */
export function toMongoFilter(filter: Filter): MongoFilter<Stored> {
  const query: Record<string, unknown> = { deleted: false }
  for (const [field, value] of Object.entries(filter)) {
    query[fieldPath(field)] = Array.isArray(value) ? { $in: [...(value as readonly Scalar[])] } : value
  }
  return query as MongoFilter<Stored>
}

class MongoCollection<D extends Document> implements ReadCollection<D> {
  constructor(private readonly collection: Collection<Stored>) {}

  async get(id: string): Promise<D | undefined> {
    const stored = await this.collection.findOne({ _id: id, deleted: false })
    return stored?.doc ? (stored.doc as D) : undefined
  }

  async find(filter: Filter, options: FindOptions = {}): Promise<D[]> {
    const limit = options.limit
    const offset = options.offset ?? 0
    if ((limit !== undefined && (!Number.isInteger(limit) || limit < 0)) || !Number.isInteger(offset) || offset < 0) {
      throw new RangeError('limit and offset must be whole numbers')
    }
    const sort: Record<string, 1 | -1> = options.orderBy ? { [fieldPath(options.orderBy)]: options.descending ? -1 : 1, _id: 1 } : { _id: 1 }
    let cursor = this.collection.find(toMongoFilter(filter), { sort, skip: offset, projection: { doc: 1 } })
    if (limit !== undefined) {
      // MongoDB reads limit 0 as "no limit"; the port reads it as "nothing".
      if (limit === 0) return []
      cursor = cursor.limit(limit)
    }
    const rows = await cursor.toArray()
    return rows.map((row) => row.doc as D)
  }

  async count(filter: Filter): Promise<number> {
    return this.collection.countDocuments(toMongoFilter(filter))
  }
}

/** The update that writes `doc` (or a tombstone) only over an older position. */
function guardedWrite(change: DocumentChange): AnyBulkWriteOperation<Stored> {
  const replacement = {
    _id: { $literal: change.id },
    position: { $literal: change.position },
    deleted: { $literal: change.doc === null },
    // $literal: a document's own strings and keys are data, never expressions.
    doc: { $literal: change.doc },
  }
  return {
    updateOne: {
      filter: { _id: change.id },
      update: [
        {
          $replaceWith: {
            $cond: [{ $lt: [{ $ifNull: ['$position', -1] }, change.position] }, replacement, '$$ROOT'],
          },
        },
      ],
      upsert: true,
    },
  }
}

export class MongoReadStore implements ReadStore {
  private readonly client: MongoClient
  private readonly db: Db
  private readonly checkpoints: Collection<StoredCheckpoint>
  private readonly declared = new Map<string, MongoCollection<Document>>()
  private history: MongoReadingHistory | undefined

  constructor(options: MongoReadStoreOptions) {
    // ignoreUndefined: a field set to undefined is left out, as JSON.stringify does for SQLite.
    this.client = new MongoClient(options.url, { ignoreUndefined: true })
    this.db = this.client.db(options.database)
    this.checkpoints = this.db.collection<StoredCheckpoint>('checkpoints')
  }

  async ensureCollection(spec: CollectionSpec): Promise<void> {
    const collection = this.db.collection<Stored>(collectionName(spec.name))
    const indexes = spec.indexes.map((field) => ({ key: { deleted: 1, [fieldPath(field)]: 1 }, name: `by_${field}` }))
    if (indexes.length > 0) await collection.createIndexes(indexes as Parameters<Collection<Stored>['createIndexes']>[0])
    this.declared.set(spec.name, new MongoCollection(collection))
  }

  collection<D extends Document>(name: string): ReadCollection<D> {
    const collection = this.declared.get(name)
    if (!collection) throw new Error(`Collection "${name}" was not declared (ensureCollection)`)
    return collection as unknown as ReadCollection<D>
  }

  async commit(changes: readonly DocumentChange[], checkpoints: ReadonlyMap<string, Checkpoint>): Promise<void> {
    // Every collection is checked before anything is written.
    const byCollection = new Map<string, AnyBulkWriteOperation<Stored>[]>()
    for (const change of changes) {
      if (!this.declared.has(change.collection)) throw new Error(`Collection "${change.collection}" was not declared (ensureCollection)`)
      let operations = byCollection.get(change.collection)
      if (!operations) byCollection.set(change.collection, (operations = []))
      operations.push(guardedWrite(change))
    }
    for (const [name, operations] of byCollection) {
      await this.db.collection<Stored>(collectionName(name)).bulkWrite(operations, { ordered: true })
    }
    // Checkpoints last: a crash before this line leaves documents ahead of their checkpoint,
    // which the position guard makes harmless; never the other way round.
    if (checkpoints.size > 0) {
      await this.checkpoints.bulkWrite(
        [...checkpoints].map(([name, checkpoint]) => ({
          updateOne: {
            filter: { _id: name },
            update: { $set: { position: checkpoint.position, version: checkpoint.version } },
            upsert: true,
          },
        })),
        { ordered: true },
      )
    }
  }

  async loadCheckpoint(name: string): Promise<Checkpoint | undefined> {
    const stored = await this.checkpoints.findOne({ _id: name })
    return stored ? { position: stored.position ?? null, version: stored.version } : undefined
  }

  async reset(collection: string, checkpointName: string): Promise<void> {
    await this.db.collection<Stored>(collectionName(collection)).deleteMany({})
    await this.checkpoints.deleteOne({ _id: checkpointName })
  }

  readingHistory(): MongoReadingHistory {
    return (this.history ??= new MongoReadingHistory(this.db))
  }

  async ping(): Promise<void> {
    await this.db.command({ ping: 1 })
  }

  async close(): Promise<void> {
    await this.client.close()
  }
}
