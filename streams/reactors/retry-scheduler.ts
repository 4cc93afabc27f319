/**
 * Makes the attempts that come due later: retries after a failure, and manual retries
 * (POST /v1.1/deliveries/{id}/retry). What is due is read from the `deliveries` read
 * model, so a restart loses nothing: at start it finds every attempt that came due while
 * the server was down. It wakes when the next attempt comes due, and at least every
 * `pollIntervalMs` to notice new ones (and a clock that tests move). Clock and timers are
 * injected. It runs beside the reactors, on the one node that runs them.
 */
import type { ReadStore } from '../../domain/ports/read-store.ts'
import { deliveriesDue } from '../../projections/deliveries.ts'
import type { DeliveryWorker } from './delivery-worker.ts'
import type { Logger } from '../../domain/ports/logger.ts'

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export interface RetrySchedulerOptions {
  readonly deliveries: DeliveryWorker
  readonly readStore: ReadStore
  readonly now: () => Date
  readonly logger: Logger
  readonly pollIntervalMs?: number
  /** how many due deliveries one pass takes on */
  readonly batchSize?: number
  readonly timers?: Timers
}

const realTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
}

export class RetryScheduler {
  private timer: unknown
  private running = false
  private pass: Promise<void> = Promise.resolve()

  constructor(private readonly options: RetrySchedulerOptions) {}

  async start(): Promise<void> {
    if (this.running) return
    this.running = true
    this.wakeIn(0)
  }

  /** Stops waking; resolves once the attempt under way (if any) is recorded. */
  async stop(): Promise<void> {
    this.running = false
    if (this.timer !== undefined) (this.options.timers ?? realTimers).clearTimeout(this.timer)
    this.timer = undefined
    await this.pass
  }

  private wakeIn(ms: number): void {
    if (!this.running) return
    this.timer = (this.options.timers ?? realTimers).setTimeout(() => {
      this.timer = undefined
      this.pass = this.runPass()
    }, ms)
  }

  private async runPass(): Promise<void> {
    const { deliveries, readStore, now, logger } = this.options
    const pollIntervalMs = this.options.pollIntervalMs ?? 1000
    const batchSize = this.options.batchSize ?? 100
    let delay = pollIntervalMs
    try {
      const { due, next } = await deliveriesDue(readStore, now(), batchSize)
      let troubled = false
      for (const delivery of due) {
        if (!this.running) return
        try {
          await deliveries.attempt(delivery.id)
        } catch (error) {
          troubled = true
          logger.error({ err: error, delivery: delivery.id }, 'a delivery attempt could not be recorded; it stays due')
        }
      }
      // A full batch: more may be due right away (unless the store is in trouble).
      if (due.length === batchSize && !troubled) delay = 0
      else if (next !== null) delay = Math.max(0, Math.min(pollIntervalMs, Date.parse(next) - now().getTime()))
    } catch (error) {
      logger.error({ err: error }, 'the due deliveries could not be read; trying again')
    }
    this.wakeIn(delay)
  }
}
