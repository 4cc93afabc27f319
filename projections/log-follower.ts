/**
 * The one way to follow the event log: a name, the event types it wants, where it starts
 * (a checkpoint it loads, or the log's start or head when there is none), how a handled
 * batch is checkpointed, what happens when a batch fails (retried with a growing pause, or
 * the follower fails), and one status that readiness (`/readyz`) and metrics read for every
 * follower through the FollowerRegistry the composition root holds.
 *
 * Used by the projection runner, the reading history, the reactors, the rule engine, the
 * MQTT revocation watcher and the live telemetry feed: they say what to do with a batch.
 */
import type { EventStore, RecordedEvent, Subscription } from '../domain/ports/event-store.ts'
import type { Logger } from '../domain/ports/logger.ts'

/** How far apart the checkpoints of a follower whose filter skips most of the log are stored (a restart rescans at most this much). */
export const checkpointDistance = 10_000

export interface FollowerCheckpoint {
  /** the stored position; undefined when none was ever stored, null for "from the log's start" */
  load(): Promise<number | null | undefined>
  /** stores `position`; without it the handler stores its own (e.g. with its documents, atomically) */
  save?(position: number): Promise<void>
}

export interface BackoffOptions {
  /** the first pause after a failure; each next one doubles, up to maxDelayMs */
  readonly firstDelayMs: number
  readonly maxDelayMs: number
}

/** What a handler may do within its batch. */
export interface BatchControl {
  /** true once the follower is stopping: a handler working event by event ends early (nothing after is checkpointed) */
  readonly stopping: boolean
  /** the batch's events up to `position` are handled: stores the checkpoint there; a retried batch resumes after it */
  progress(position: number): Promise<void>
}

export type FollowerHandler = (events: readonly RecordedEvent[], through: number, control: BatchControl) => Promise<void>

export interface LogFollowerOptions {
  /** unique among the followers of a process; reported by readiness and metrics */
  readonly name: string
  readonly eventStore: EventStore
  readonly logger: Logger
  /** only these event types are handed over (see SubscribeOptions.eventTypes); all when absent */
  readonly eventTypes?: readonly string[]
  readonly maxBatch?: number
  /** where a follower without a stored checkpoint starts: the log's start, or its head (only what comes next) */
  readonly startAt: 'beginning' | 'head'
  readonly checkpoint?: FollowerCheckpoint
  readonly handle: FollowerHandler
  /** retry a failed batch with these pauses; without it a failed batch fails the follower */
  readonly retry?: BackoffOptions
  /** told once when the follower fails for good */
  readonly onFailure?: (error: unknown) => void
}

export type FollowerState = 'running' | 'stopped' | 'failed'

export interface FollowerStatus {
  readonly name: string
  readonly state: FollowerState
  /** how far the log has been handled (looked through); null before the first event */
  readonly position: number | null
  /** the last failure's message (a retried one too); null when none since the start */
  readonly lastError: string | null
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** The checkpoint could not be stored: the store failed, not the handler's outside world, so it is not retried. */
class CheckpointError extends Error {}

/**
 * Pauses between attempts that double up to a bound, and that `wakeAll` cuts short (a
 * stop must not wait out a minute's pause). Shared by the followers and the telemetry processor.
 */
export class Backoff {
  private readonly wakers = new Set<() => void>()

  constructor(private readonly options: BackoffOptions) {}

  /**
   * Runs `work` until it succeeds; true then, false when `stopped()` turned true first.
   * `failed` hears each failure; one that is not `retryable` is thrown at once.
   */
  async retry(
    work: () => Promise<void>,
    stopped: () => boolean,
    failed: (error: unknown, attempt: number) => void,
    retryable: (error: unknown) => boolean = () => true,
  ): Promise<boolean> {
    let delay = this.options.firstDelayMs
    for (let attempt = 1; !stopped(); attempt++) {
      try {
        await work()
        return true
      } catch (error) {
        if (!retryable(error)) throw error
        failed(error, attempt)
        if (stopped()) return false
        await this.pause(delay)
        delay = Math.min(delay * 2, this.options.maxDelayMs)
      }
    }
    return false
  }

  /** Ends every pause now. */
  wakeAll(): void {
    for (const wake of this.wakers) wake()
  }

  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wakers = this.wakers
      const timer = setTimeout(done, ms)
      function done(): void {
        clearTimeout(timer)
        wakers.delete(done)
        resolve()
      }
      wakers.add(done)
    })
  }
}

export class LogFollower {
  private subscription: Subscription | undefined
  private state: FollowerState = 'stopped'
  private reached: number | null = null
  /** the checkpoint as stored (when the follower stores it) */
  private saved: number | null = null
  /** within a retried batch: the last event the handler reported handled */
  private progressed: number | null = null
  private lastError: string | null = null
  private stopping = false
  private started = false
  private readonly backoff: Backoff | undefined
  private readonly control: BatchControl

  constructor(private readonly options: LogFollowerOptions) {
    this.backoff = options.retry && new Backoff(options.retry)
    const isStopping = (): boolean => this.stopping
    this.control = {
      get stopping() {
        return isStopping()
      },
      progress: (position) => this.progress(position),
    }
  }

  get name(): string {
    return this.options.name
  }

  /** How far the log has been handled; null before anything was. */
  get position(): number | null {
    return this.reached
  }

  /** between start() and stop(), failed or not: what a rebuild must not run beside */
  get isStarted(): boolean {
    return this.started
  }

  status(): FollowerStatus {
    return { name: this.options.name, state: this.state, position: this.reached, lastError: this.lastError }
  }

  /** Loads the checkpoint (or finds the head) and follows the log from there; resolves once it follows. */
  async start(): Promise<void> {
    if (this.subscription) return
    this.started = true
    try {
      await this.subscribe()
    } catch (error) {
      this.started = false
      throw error
    }
  }

  private async subscribe(): Promise<void> {
    const { eventStore, checkpoint, logger } = this.options
    this.stopping = false
    this.lastError = null
    let from = await checkpoint?.load()
    if (from === undefined) {
      from = this.options.startAt === 'head' ? await eventStore.headPosition() : null
      if (from !== null && checkpoint?.save) {
        // First start at the head: stored, so a restart does not skip what came meanwhile.
        await checkpoint.save(from)
        logger.info({ follower: this.options.name, from }, 'follower starts at the head of the log')
      }
    }
    this.reached = from
    this.saved = from
    this.subscription = eventStore.subscribeToAll(
      {
        fromPosition: from,
        maxBatch: this.options.maxBatch ?? 1000,
        ...(this.options.eventTypes ? { eventTypes: this.options.eventTypes } : {}),
        onError: (error) => this.fail(error),
      },
      (events, through) => this.handleBatch(events, through),
    )
    this.state = 'running'
  }

  /** Stops following; resolves once the batch in flight (if any) has ended. */
  async stop(): Promise<void> {
    this.stopping = true
    this.started = false
    this.backoff?.wakeAll()
    const subscription = this.subscription
    this.subscription = undefined
    await subscription?.stop()
    // unless start() was called again meanwhile
    if (this.subscription === undefined && this.state === 'running') this.state = 'stopped'
  }

  private async handleBatch(events: readonly RecordedEvent[], through: number): Promise<void> {
    const { handle, logger, name } = this.options
    this.progressed = null
    if (this.backoff) {
      const done = await this.backoff.retry(
        () => handle(this.progressed === null ? events : events.filter((e) => e.position > this.progressed!), through, this.control),
        () => this.stopping,
        (error, attempt) => {
          this.lastError = messageOf(error)
          logger.warn({ err: error, follower: name, attempt }, 'follower batch failed; retrying')
        },
        (error) => !(error instanceof CheckpointError),
      )
      if (!done) return
    } else {
      await handle(events, through, this.control)
    }
    if (this.stopping) return
    const last = events.length > 0 ? events[events.length - 1]!.position : null
    if (this.options.checkpoint?.save && ((last !== null && (this.saved ?? -1) < last) || through - (this.saved ?? -1) >= checkpointDistance)) {
      await this.options.checkpoint.save(through)
      this.saved = through
    }
    this.reached = through
  }

  private async progress(position: number): Promise<void> {
    if (this.options.checkpoint?.save) {
      try {
        await this.options.checkpoint.save(position)
      } catch (error) {
        throw new CheckpointError(`could not store the checkpoint: ${messageOf(error)}`, { cause: error })
      }
      this.saved = position
    }
    this.progressed = position
    this.reached = position
  }

  private fail(error: unknown): void {
    this.state = 'failed'
    this.subscription = undefined
    this.lastError = messageOf(error)
    this.options.logger.error({ err: error, follower: this.options.name }, 'follower stopped on an error')
    this.options.onFailure?.(error)
  }
}

/** A follower's status with its distance from the head of the log. */
export interface FollowerReport extends FollowerStatus {
  /** head position minus position: events on the embedded engine, log bytes on KurrentDB; null when unknown */
  readonly lag: number | null
}

/**
 * Every follower of the process, for readiness and metrics: the composition root holds one
 * and hands it to whatever creates followers.
 */
export class FollowerRegistry {
  private readonly followers = new Map<string, LogFollower>()

  constructor(private readonly eventStore: Pick<EventStore, 'headPosition'>) {}

  add(follower: LogFollower): void {
    if (this.followers.has(follower.name)) throw new Error(`Two followers are named "${follower.name}"`)
    this.followers.set(follower.name, follower)
  }

  list(): readonly LogFollower[] {
    return [...this.followers.values()]
  }

  /** Every follower's status and lag, reading the head of the log once. */
  async reports(): Promise<FollowerReport[]> {
    const head = await this.eventStore.headPosition()
    return this.list().map((follower) => {
      const status = follower.status()
      const lag = head === null ? 0 : status.position === null ? head : Math.max(0, head - status.position)
      return { ...status, lag: status.state === 'running' ? lag : null }
    })
  }
}

/** Readiness: a follower that failed (its subscription died) makes the node not ready. */
export function unhealthyFollowers(reports: readonly FollowerReport[]): FollowerReport[] {
  return reports.filter((report) => report.state === 'failed')
}
