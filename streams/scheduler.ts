/**
 * The job scheduler: runs each due occurrence of every job within a second of its time.
 *
 * Every `pollMs` (one second) it reads the jobs whose next run comes first from the
 * `jobs` read model, fires those that are due, and arms its timer for the earliest next
 * run if that comes sooner than the next poll: a run is late by the timer's slack at
 * most, a job created or changed elsewhere is seen within a poll.
 *
 * Firing is `FireJob` through the command handler, naming the latest due occurrence and
 * appending with the revision it read: with several schedulers on one store, one
 * appends the run and the others find it done (no events). At start the first pass
 * finds what was missed while no scheduler ran; the job's decider records the run as a
 * catch-up or as skipped, by the job's policy.
 *
 * The clock and the timer are injected, so tests move time without sleeping.
 */
import type { Logger } from '../domain/ports/logger.ts'
import { jobDecider, jobStreamName, type FireJob } from '../domain/job/job.ts'
import { latestOccurrenceAtOrBefore } from '../domain/job/schedule.ts'
import type { EventStore } from '../domain/ports/event-store.ts'
import { handleCommand } from '../commands/handle-command.ts'
import { deterministicId } from '../commands/ids.ts'
import { configOfView, jobsDueFirst, jobsProjection, type JobDocument } from '../projections/jobs.ts'
import type { ReadStore } from '../domain/ports/read-store.ts'
import type { Instruments } from '../domain/ports/instruments.ts'

export interface SchedulerTimer {
  set(callback: () => void, delayMs: number): unknown
  clear(handle: unknown): void
}

export const realTimer: SchedulerTimer = {
  set: (callback, delayMs) => setTimeout(callback, delayMs).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
}

export interface JobSchedulerOptions {
  readonly eventStore: EventStore
  readonly readStore: ReadStore
  readonly now: () => Date
  readonly newId: () => string
  readonly logger: Logger
  readonly timer?: SchedulerTimer
  /** how often the read model is read for new or changed jobs */
  readonly pollMs?: number
  /** how many of the soonest jobs one read looks at */
  readonly batchSize?: number
  readonly instruments?: Instruments
}

export class JobScheduler {
  private handle: unknown
  private running = false
  private pass: Promise<void> = Promise.resolve()
  /**
   * What this scheduler's own runs made of each job, until the read model shows that
   * revision: so that the next pass does not fire from a stale next_runtime. Kept a
   * minute at most (a job that ran for the last time leaves the query's view): a read
   * model lagging longer costs a refused FireJob, no second run.
   */
  private readonly known = new Map<string, { readonly revision: number; readonly nextRuntime: string | null; readonly at: number }>()

  constructor(private readonly options: JobSchedulerOptions) {}

  private get timer(): SchedulerTimer {
    return this.options.timer ?? realTimer
  }

  /** Runs a first pass (what was missed while no scheduler ran), then keeps running. */
  async start(): Promise<void> {
    if (this.running) return
    await this.options.readStore.ensureCollection({ name: jobsProjection.collection, indexes: jobsProjection.indexes })
    this.running = true
    this.options.logger.info({}, 'job scheduler started')
    await this.runPass()
  }

  /** Stops the timer and waits for a pass in flight. */
  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    this.timer.clear(this.handle)
    await this.pass
    this.known.clear()
    this.options.logger.info({}, 'job scheduler stopped')
  }

  /** One pass now (the timer's callback); passes never overlap. */
  runPass(): Promise<void> {
    this.pass = this.pass.then(async () => {
      if (!this.running) return
      this.timer.clear(this.handle)
      let delay = this.options.pollMs ?? 1000
      try {
        const next = await this.fireDue()
        if (next !== null) delay = Math.min(delay, Math.max(1, next - this.options.now().getTime()))
      } catch (error) {
        this.options.logger.error({ err: error }, 'job scheduler pass failed; trying again')
      }
      if (this.running) this.handle = this.timer.set(() => void this.runPass(), delay)
    })
    return this.pass
  }

  /** Fires what is due; returns when the earliest run still ahead is (null: none in view). */
  private async fireDue(): Promise<number | null> {
    const batchSize = this.options.batchSize ?? 100
    for (;;) {
      const documents = await jobsDueFirst(this.options.readStore, batchSize)
      const now = this.options.now().getTime()
      for (const [jobId, known] of this.known) if (now - known.at > 60_000) this.known.delete(jobId)
      let fired = 0
      let earliest: number | null = null
      for (const document of documents) {
        const nextRuntime = this.nextRuntimeOf(document)
        if (nextRuntime === null) continue
        const at = Date.parse(nextRuntime)
        if (at > now) {
          earliest = earliest === null ? at : Math.min(earliest, at)
          continue
        }
        const occurrence = latestOccurrenceAtOrBefore(configOfView(document.config), now)
        if (occurrence !== null && (await this.fire(document, new Date(occurrence).toISOString()))) fired++
      }
      // A full batch of runs recorded: more jobs may be due behind them.
      if (documents.length < batchSize || fired < documents.length) return earliest
    }
  }

  private nextRuntimeOf(document: JobDocument): string | null {
    const known = this.known.get(document.id)
    if (known === undefined) return document.next_runtime
    if (document.revision >= known.revision) {
      this.known.delete(document.id)
      return document.next_runtime
    }
    return known.nextRuntime
  }

  /** True when this scheduler recorded the run (fired or skipped). */
  private async fire(document: JobDocument, occurrence: string): Promise<boolean> {
    const jobId = document.id
    const command: FireJob = { type: 'FireJob', data: { jobId, occurrence } }
    const run = deterministicId('job-run', jobId, occurrence)
    try {
      const result = await handleCommand(jobDecider, jobStreamName(jobId), command, {
        eventStore: this.options.eventStore,
        now: this.options.now,
        newId: this.options.newId,
        metadata: {
          actor: { type: 'system', id: 'scheduler' },
          account_id: document.account_id,
          client_id: null,
          correlation_id: run,
          causation_id: run,
        },
      })
      const state = result.state
      const nextRuntime = state.status === 'scheduled' && state.active ? state.nextRuntime : null
      this.known.set(jobId, { revision: result.revision, nextRuntime, at: this.options.now().getTime() })
      if (result.newEvents.length === 0) return false
      this.options.instruments?.jobRunLate((this.options.now().getTime() - Date.parse(occurrence)) / 1000)
      this.options.logger.info({ job: jobId, occurrence, events: result.newEvents.map((e) => e.type) }, 'job run recorded')
      return true
    } catch (error) {
      this.options.logger.warn({ err: error, job: jobId, occurrence }, 'could not fire a job; the next pass tries again')
      return false
    }
  }
}
