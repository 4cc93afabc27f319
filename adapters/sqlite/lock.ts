/**
 * One process owns a DATA_DIR at a time: the embedded engine keeps offsets in memory and
 * a rebuild must not race the live projector. A pid file marks the owner; a stale file
 * (its process is gone, e.g. after kill -9) is taken over.
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface DataDirLock {
  release(): void
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export function lockDataDir(dataDir: string): DataDirLock {
  const file = join(dataDir, 'capsicum.pid')
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' })
      return {
        release: () => {
          try {
            if (readFileSync(file, 'utf8') === String(process.pid)) unlinkSync(file)
          } catch {
            // already gone
          }
        },
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const owner = Number(readFileSync(file, 'utf8'))
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new Error(`DATA_DIR ${dataDir} is in use by process ${owner}; stop it first`, { cause: error })
      }
      unlinkSync(file)
    }
  }
  throw new Error(`Could not lock DATA_DIR ${dataDir}`)
}
