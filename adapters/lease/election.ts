/**
 * Runs a job on the one candidate that holds its lease. `tick()` is one step: a standby
 * tries to take the lease (and starts the job when it does), the holder renews it (and
 * stops the job the moment a renewal fails). `start()` ticks every `renewEveryMs` (a third
 * of the lease's time by default); tests call `tick()` themselves, so nothing depends on
 * timing.
 */
import type { Logger } from '../../domain/ports/logger.ts'

export interface ElectionOptions {
  readonly lease: import('./lease.ts').Lease
  /** starts the job; called when this candidate becomes the holder */
  readonly onElected: (token: number) => Promise<void>
  /** stops the job; called when the lease is lost or given up */
  readonly onDeposed: () => Promise<void>
  readonly renewEveryMs: number
  readonly logger: Logger
}

export type ElectionState = 'standby' | 'active' | 'stopped'

export class LeaderElection {
  private timer: NodeJS.Timeout | undefined
  private ticking: Promise<void> = Promise.resolve()
  private currentToken: number | null = null
  state: ElectionState = 'standby'

  constructor(private readonly options: ElectionOptions) {}

  get token(): number | null {
    return this.currentToken
  }

  /** Ticks now, then every renewEveryMs until stop(). */
  start(): Promise<void> {
    const first = this.tick()
    const loop = (): void => {
      this.timer = setTimeout(() => {
        void this.tick().finally(() => {
          if (this.state !== 'stopped') loop()
        })
      }, this.options.renewEveryMs)
      this.timer.unref?.()
    }
    void first.finally(() => {
      if (this.state !== 'stopped') loop()
    })
    return first
  }

  /** One step of the election; steps never overlap. */
  tick(): Promise<void> {
    this.ticking = this.ticking.then(() => this.step())
    return this.ticking
  }

  private async step(): Promise<void> {
    const { lease, logger } = this.options
    if (this.state === 'stopped') return
    try {
      if (this.state === 'active') {
        if (await lease.renew()) return
        logger.warn({ lease: lease.name, token: this.currentToken }, 'lease lost: stopping')
        await this.depose()
        return
      }
      const token = await lease.tryAcquire()
      if (token === null) return
      this.currentToken = token
      this.state = 'active'
      logger.info({ lease: lease.name, token }, 'lease acquired: this node is active')
      try {
        await this.options.onElected(token)
      } catch (error) {
        logger.error({ err: error, lease: lease.name }, 'could not start after acquiring the lease: giving it up')
        await this.depose()
        await lease.release().catch(() => {})
      }
    } catch (error) {
      // The lease's store did not answer: a holder cannot prove it still holds, so it stops.
      logger.warn({ err: error, lease: lease.name }, 'lease check failed')
      if (this.state === 'active') await this.depose()
    }
  }

  private async depose(): Promise<void> {
    this.state = 'standby'
    this.currentToken = null
    await this.options.onDeposed()
  }

  /** Stops the job if it runs here, gives the lease up, and ticks no more. */
  async stop(): Promise<void> {
    clearTimeout(this.timer)
    await this.ticking
    const wasActive = this.state === 'active'
    this.state = 'stopped'
    clearTimeout(this.timer)
    if (wasActive) {
      this.currentToken = null
      await this.options.onDeposed()
    }
    await this.options.lease.release().catch(() => {})
  }
}
