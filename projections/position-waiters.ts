/**
 * Callers waiting for a follower of the log to reach a position (read-your-writes): each
 * resolves true once it is reached, or false after its timeout or when the follower stops.
 */
interface Waiter {
  readonly position: number
  readonly resolve: (reached: boolean) => void
  readonly timer: NodeJS.Timeout
}

export class PositionWaiters {
  private waiters: Waiter[] = []

  wait(reached: number | null, position: number, timeoutMs: number): Promise<boolean> {
    if (reached !== null && reached >= position) return Promise.resolve(true)
    return new Promise((resolve) => {
      const waiter: Waiter = {
        position,
        resolve,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter)
          resolve(false)
        }, timeoutMs),
      }
      this.waiters.push(waiter)
    })
  }

  /** Resolves every waiter at or below `reached`. */
  release(reached: number | null): void {
    if (reached === null) return
    this.waiters = this.waiters.filter((waiter) => {
      if (waiter.position > reached) return true
      clearTimeout(waiter.timer)
      waiter.resolve(true)
      return false
    })
  }

  /** The follower stopped: every waiter gets false. */
  cancelAll(): void {
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer)
      waiter.resolve(false)
    }
    this.waiters = []
  }
}
