/**
 * The embedded engine against every port's contract. Each case gets a fresh temporary
 * directory holding its own SQLite file; reopening opens that same file again. Everything
 * is closed in t.teardown: subscriptions and consumers (the suites stop them), then the
 * adapter, then the database, then the directory is removed.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { Test } from 'tap'
import { SqliteEventStore } from '../../adapters/eventstore/sqlite.ts'
import { SqliteReadStore } from '../../adapters/readstore/sqlite.ts'
import { openDatabase, type SqliteDatabase } from '../../adapters/sqlite/database.ts'
import { SqliteTelemetryStream } from '../../adapters/stream/sqlite.ts'
import { eventStoreContract, type OpenedEventStore } from './event-store.contract.ts'
import { readStoreContract, type OpenedReadStore } from './read-store.contract.ts'
import { telemetryStreamContract, type OpenedTelemetryStream } from './telemetry-stream.contract.ts'

interface Closable {
  close(): Promise<void>
}

/**
 * Opens `make` on a database in a fresh directory of the case, shaped by `shape` as the
 * contract expects; reopening closes the adapter and the database and opens the same
 * directory again.
 */
function onFreshDirectory<A extends Closable, Opened>(
  make: (db: SqliteDatabase) => A,
  shape: (adapter: A, close: () => Promise<void>, reopen: () => Promise<Opened>) => Opened,
): (t: Test) => Promise<Opened> {
  return async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'capsicum-contract-'))
    const closers: (() => Promise<void>)[] = []
    // One teardown closes every instance opened on the directory, then removes it, even
    // when a close fails (the failure still fails the case).
    t.teardown(async () => {
      try {
        for (const close of closers.reverse()) await close()
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
    const openAt = (): Opened => {
      const db = openDatabase(dir)
      const adapter = make(db)
      let closing: Promise<void> | undefined
      const close = (): Promise<void> =>
        (closing ??= (async () => {
          try {
            await adapter.close()
          } finally {
            db.close()
          }
        })())
      closers.push(close)
      return shape(adapter, close, async () => {
        await close()
        return openAt()
      })
    }
    return openAt()
  }
}

eventStoreContract(
  t,
  'SQLite',
  onFreshDirectory<SqliteEventStore, OpenedEventStore>(
    (db) => new SqliteEventStore(db),
    (store, close, reopen) => ({ store, close, reopen }),
  ),
)

readStoreContract(
  t,
  'SQLite',
  onFreshDirectory<SqliteReadStore, OpenedReadStore>(
    (db) => new SqliteReadStore(db),
    (store, close, reopen) => ({ store, close, reopen }),
  ),
  { atomicCommit: true },
)

telemetryStreamContract(
  t,
  'SQLite',
  onFreshDirectory<SqliteTelemetryStream, OpenedTelemetryStream>(
    (db) => new SqliteTelemetryStream(db),
    (stream, close, reopen) => ({ stream, close, reopen }),
  ),
)
