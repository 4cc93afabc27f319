/**
 * One process owns a DATA_DIR at a time: the embedded engine keeps offsets in memory and
 * a rebuild must not race the live projector. Ownership is a real file lock, not a pid
 * check: the owner holds SQLite's exclusive lock on `capsicum.lock` (an fcntl lock, which
 * the kernel drops the moment the process dies, kill -9 included, before it is even
 * reaped), so a dead or zombie owner never blocks a restart and a reused pid is never
 * mistaken for the owner. `capsicum.pid` only tells people (and the refusal) who owns it.
 */
import Database from 'better-sqlite3'
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface DataDirLock {
  release(): void
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown }).code
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED'
}

function ownerOf(pidFile: string): string {
  try {
    const pid = readFileSync(pidFile, 'utf8').trim()
    return /^\d+$/.test(pid) ? `process ${pid}` : 'another process'
  } catch {
    return 'another process'
  }
}

export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true })
  const pidFile = join(dataDir, 'capsicum.pid')
  const lock = new Database(join(dataDir, 'capsicum.lock'), { timeout: 0 })
  try {
    // In exclusive locking mode the lock taken by the first write is kept until close.
    lock.pragma('locking_mode = EXCLUSIVE')
    lock.exec('BEGIN EXCLUSIVE; COMMIT')
  } catch (error) {
    lock.close()
    if (!isBusy(error)) throw error
    throw new Error(`DATA_DIR ${dataDir} is in use by ${ownerOf(pidFile)}; stop it first`, { cause: error })
  }
  writeFileSync(pidFile, String(process.pid))
  return {
    release: () => {
      try {
        if (readFileSync(pidFile, 'utf8') === String(process.pid)) unlinkSync(pidFile)
      } catch {
        // already gone
      }
      lock.close()
    },
  }
}
