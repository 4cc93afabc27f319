/**
 * The embedded engine's one SQLite file. WAL lets readers run beside the writer, and
 * `synchronous = FULL` makes every commit durable on disk before it returns, which is
 * what lets an append resolve only once it survives a crash. Group commit (in the
 * adapters) is what keeps that affordable.
 */
import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'

export type SqliteDatabase = Database.Database

export function openDatabase(dataDir: string, fileName = 'capsicum.db'): SqliteDatabase {
  mkdirSync(dataDir, { recursive: true })
  const db = new Database(join(dataDir, fileName))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.pragma('busy_timeout = 5000')
  db.pragma('foreign_keys = ON')
  // Larger cache and memory-mapped reads: rebuilds read the whole log.
  db.pragma('cache_size = -65536')
  db.pragma('mmap_size = 268435456')
  // Checkpoint the WAL every ~40 MB instead of every 4 MB: fewer, larger checkpoints.
  db.pragma('wal_autocheckpoint = 10000')
  return db
}

/**
 * Runs `write` in a transaction whose commit does not wait for the disk. Only for what is
 * derived from the log (read models, checkpoints, consumer offsets), which a rebuild or a
 * redelivery restores. A process crash loses nothing either way; a power loss can drop
 * only a tail of the WAL, so such a commit never survives without the durable commits
 * before it: a read model is never ahead of the events it was built from.
 */
export function commitDerived(db: SqliteDatabase, write: () => void): void {
  db.pragma('synchronous = NORMAL')
  try {
    db.transaction(write)()
  } finally {
    db.pragma('synchronous = FULL')
  }
}
