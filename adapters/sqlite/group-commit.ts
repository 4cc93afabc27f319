/**
 * Group commit: requests submitted in the same turn of the event loop are written by one
 * transaction, so many writers share one fsync, yet each promise settles only after that
 * transaction is durable. Each request runs in a savepoint of its own: one that throws is
 * rolled back and fails alone; the others still commit.
 */
import type { SqliteDatabase } from './database.ts'

export interface GroupWriter<Request, Result> {
  /** Called before a group's transaction begins. */
  begin(): void
  /**
   * Writes one request inside the group's transaction. When it throws, its savepoint is
   * rolled back, and it must leave the writer's in-memory state as it found it.
   */
  write(request: Request): Result
  /** After the group's writes, inside its transaction: what the group writes once. */
  beforeCommit?(): void
  /** The group's transaction committed: what it wrote is durable. */
  committed(): void
  /** The group's transaction failed as a whole: forget everything since `begin`. */
  abandoned(): void
}

interface Pending<Request, Result> {
  readonly request: Request
  readonly resolve: (result: Result) => void
  readonly reject: (error: unknown) => void
}

export class GroupCommit<Request, Result> {
  private pending: Pending<Request, Result>[] = []
  private scheduled = false
  private readonly inSavepoint: (request: Request) => Result

  constructor(
    private readonly db: SqliteDatabase,
    private readonly writer: GroupWriter<Request, Result>,
  ) {
    // better-sqlite3 runs a transaction function nested in another as a savepoint.
    this.inSavepoint = db.transaction((request: Request) => writer.write(request))
  }

  submit(request: Request): Promise<Result> {
    return new Promise((resolve, reject) => {
      this.pending.push({ request, resolve, reject })
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => this.flush())
      }
    })
  }

  /** Writes what is queued now (also used on close). */
  flush(): void {
    this.scheduled = false
    const group = this.pending
    this.pending = []
    if (group.length === 0) return
    const outcomes: ({ ok: true; result: Result } | { ok: false; error: unknown })[] = []
    this.writer.begin()
    try {
      this.db.transaction(() => {
        for (const { request } of group) {
          try {
            outcomes.push({ ok: true, result: this.inSavepoint(request) })
          } catch (error) {
            outcomes.push({ ok: false, error })
          }
        }
        this.writer.beforeCommit?.()
      })()
    } catch (error) {
      this.writer.abandoned()
      for (const { reject } of group) reject(error)
      return
    }
    this.writer.committed()
    group.forEach(({ resolve, reject }, i) => {
      const outcome = outcomes[i]!
      if (outcome.ok) resolve(outcome.result)
      else reject(outcome.error)
    })
  }
}
