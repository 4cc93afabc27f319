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
