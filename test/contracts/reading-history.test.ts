/**
 * The reading history stores against their contract: SQLite always, MongoDB when
 * MONGODB_URL is set (otherwise reported as skipped, with the reason).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MongoClient } from 'mongodb'
import t from 'tap'
import type { Test } from 'tap'
import { MongoReadingHistory } from '../../adapters/readstore/mongo-history.ts'
import { SqliteReadingHistory } from '../../adapters/readstore/sqlite-history.ts'
import { openDatabase } from '../../adapters/sqlite/database.ts'
import { readingHistoryContract, type OpenedHistoryStore } from './reading-history.contract.ts'

readingHistoryContract(t, 'SQLite', async (t: Test) => {
  const dir = mkdtempSync(join(tmpdir(), 'capsicum-history-'))
  const databases: { close(): void }[] = []
  t.teardown(() => {
    for (const db of databases) db.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const openAt = (): OpenedHistoryStore => {
    const db = openDatabase(dir)
    databases.push(db)
    return {
      store: new SqliteReadingHistory(db),
      reopen: async () => {
        db.close()
        databases.splice(databases.indexOf(db), 1)
        return openAt()
      },
    }
  }
  return openAt()
})

t.test('SQLite: a reading history of points without an index (version 1) is migrated by prepare()', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'capsicum-history-'))
  const db = openDatabase(dir)
  t.teardown(() => {
    db.close()
    rmSync(dir, { recursive: true, force: true })
  })
  // The tables as readingHistoryVersion 1 made them, with a point and the checkpoint.
  db.exec(`
    CREATE TABLE reading_series (
      id       INTEGER PRIMARY KEY,
      thing_id TEXT NOT NULL,
      channel  TEXT NOT NULL,
      UNIQUE (thing_id, channel)
    );
    CREATE TABLE reading_points (
      series   INTEGER NOT NULL,
      ts       INTEGER NOT NULL,
      position INTEGER NOT NULL,
      value    NOT NULL,
      PRIMARY KEY (series, ts, position)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS checkpoints (
      name     TEXT PRIMARY KEY,
      position INTEGER,
      version  INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO reading_series (id, thing_id, channel) VALUES (1, 'thing-1', '1');
    INSERT INTO reading_points (series, ts, position, value) VALUES (1, 1000, 3, 21.5);
    INSERT INTO checkpoints (name, position, version) VALUES ('readingHistory', 3, 1);
  `)
  const store = new SqliteReadingHistory(db)
  await store.prepare()
  const columns = (db.pragma('table_info(reading_points)') as { name: string; pk: number }[]).filter((c) => c.pk > 0).map((c) => c.name)
  t.strictSame(columns, ['series', 'ts', 'position', 'idx'], 'keyed by (series, ts, position, idx)')
  t.strictSame(await store.loadCheckpoint(), { position: 3, version: 1 }, 'the old checkpoint stays: its version makes the projector rebuild the points')
  const range = { thingId: 'thing-1', channel: '1', from: 0, to: 10_000 }
  t.equal(await store.count(range), 0, 'the old points are gone')
  const at = (index: number, value: number) => ({ ...range, ts: 1000, position: 3, index, value })
  await store.commit([at(0, 21.5), at(1, 22), at(2, 23)], { position: 3, version: 2 })
  t.strictSame(await store.points({ ...range, limit: 10 }), [
    { ts: 1000, position: 3, index: 0, value: 21.5 },
    { ts: 1000, position: 3, index: 1, value: 22 },
    { ts: 1000, position: 3, index: 2, value: 23 },
  ])

  const again = new SqliteReadingHistory(db)
  await again.prepare()
  t.equal(await again.count(range), 3, 'a table of the new shape is kept')
})

const url = process.env.MONGODB_URL?.trim()
if (!url) {
  t.test('MongoDB: ReadingHistoryStore contract', { skip: 'MONGODB_URL is not set: the MongoDB reading history was not exercised (`npm run test:scale` with MongoDB up)' }, async () => {})
} else {
  readingHistoryContract(t, 'MongoDB', async (t: Test) => {
    const database = `capsicum_history_${randomUUID().replaceAll('-', '')}`
    const clients: MongoClient[] = []
    t.teardown(async () => {
      try {
        await clients[clients.length - 1]?.db(database).dropDatabase()
      } finally {
        for (const client of clients) await client.close()
      }
    })
    const openAt = (): OpenedHistoryStore => {
      const client = new MongoClient(url)
      clients.push(client)
      return { store: new MongoReadingHistory(client.db(database)), reopen: async () => openAt() }
    }
    return openAt()
  })
}
