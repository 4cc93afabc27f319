/**
 * Jobs: scheduled notifications, HTTP pushes and device actions of an account, in stream
 * `job-<id>`. The stream is also the lock that makes a run happen once: `FireJob` names
 * the occurrence it runs, and is refused (no events) when that occurrence already ran
 * or is not due, so of several schedulers appending with the revision they read, one
 * records the run and the others find it done.
 *
 * An occurrence is missed when it runs more than `missedAfterMs` late, or a later one is
 * due too (the scheduler was down). A missed run names the latest due occurrence: it
 * fires once (`catch_up`, the default) or is recorded as skipped (`skip`), and the job
 * continues from the next future occurrence.
 */
import { unreachable, type Command, type Decider, type DomainEvent } from '../decider.ts'
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts'
import type { Effects, JobFired, NotificationMethod } from '../automation/effects.ts'
import type { JsonValue } from '../thing/thing.ts'
import { latestOccurrenceAtOrBefore, occurrenceAfter, occurrenceAtOrAfter, type JobConfig } from './schedule.ts'

/** How late a run may be and still count as on time. */
export const missedAfterMs = 60_000

export interface JobNotification {
  readonly id: string
  readonly method: NotificationMethod
  readonly value: string
}

export interface JobHttpPush {
  readonly id: string
  readonly url: string
  readonly method: string
  readonly headers: { readonly [name: string]: string }
  readonly payload: JsonValue | null
}

export interface JobAction {
  readonly id: string
  readonly thingId: string
  readonly sensorId: string | null
  readonly unit: string | null
  readonly value: string | number | boolean
  readonly channel: string
}

export interface JobDefinition {
  readonly title: string
  readonly config: JobConfig
  readonly notifications: readonly JobNotification[]
  readonly httpPush: readonly JobHttpPush[]
  readonly actions: readonly JobAction[]
  readonly active: boolean
}

// Events ------------------------------------------------------------------------------

export type JobScheduled = DomainEvent<
  'JobScheduled',
  JobDefinition & {
    readonly jobId: string
    readonly accountId: string
    /** UTC ISO; null when the job is inactive */
    readonly nextRuntime: string | null
    readonly scheduledAt: string
  }
>

/** The whole definition after the update. */
export type JobUpdated = DomainEvent<
  'JobUpdated',
  JobDefinition & { readonly jobId: string; readonly nextRuntime: string | null; readonly updatedAt: string }
>

export type JobDeleted = DomainEvent<'JobDeleted', { readonly jobId: string; readonly deletedAt: string }>

/** A missed occurrence of a `skip` job: recorded, not run. */
export type JobRunSkipped = DomainEvent<
  'JobRunSkipped',
  {
    readonly jobId: string
    readonly accountId: string
    readonly title: string
    /** the latest missed occurrence (UTC ISO) */
    readonly occurrence: string
    /** the earliest occurrence missed with it */
    readonly missedSince: string
    readonly skippedAt: string
  }
>

/** A `date` job after its one run (fired or skipped): nothing is left to schedule. */
export type JobDeactivated = DomainEvent<
  'JobDeactivated',
  { readonly jobId: string; readonly reason: 'completed'; readonly deactivatedAt: string }
>

export type JobEvent = JobScheduled | JobUpdated | JobDeleted | JobFired | JobRunSkipped | JobDeactivated

// Commands ----------------------------------------------------------------------------

export type ScheduleJob = Command<'ScheduleJob', JobDefinition & { readonly jobId: string; readonly accountId: string }>

/** `active` left out keeps the job's (or reactivates a completed `date` job given a new schedule). */
export type UpdateJob = Command<
  'UpdateJob',
  {
    readonly jobId: string
    readonly accountId: string
    readonly changes: Partial<Omit<JobDefinition, 'config'>> & { readonly config: JobConfig }
  }
>

export type DeleteJob = Command<'DeleteJob', { readonly jobId: string; readonly accountId: string }>

/** Run the occurrence at `occurrence` (UTC ISO), which must be the latest one due. */
export type FireJob = Command<'FireJob', { readonly jobId: string; readonly occurrence: string }>

export type JobCommand = ScheduleJob | UpdateJob | DeleteJob | FireJob

// State -------------------------------------------------------------------------------

export interface ExistingJob extends JobDefinition {
  readonly status: 'scheduled'
  readonly jobId: string
  readonly accountId: string
  readonly nextRuntime: string | null
  /** the last occurrence run or skipped */
  readonly lastOccurrence: string | null
  /** a `date` job that ran */
  readonly completed: boolean
  readonly createdAt: string
  readonly updatedAt: string
}

export type JobState = { readonly status: 'none' } | ExistingJob | { readonly status: 'deleted'; readonly jobId: string }

export const jobStreamName = (jobId: string): string => `job-${jobId}`

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString())

/** What a run asks the reactors to do, as the job says it now. */
export function effectsOf(job: JobDefinition): Effects {
  return {
    actions: job.actions.map((a) => ({ thingId: a.thingId, channel: a.channel, value: a.value, unit: a.unit })),
    notifications: job.notifications.map((n) => ({ method: n.method, value: n.value, body: null })),
    httpPush: job.httpPush.map((p) => ({ method: p.method, url: p.url, headers: p.headers, payload: p.payload })),
  }
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

/** Fields in one order, so that two can be compared as JSON. */
const configOf = ({ type, interval, unit, startDate, tz, missed }: JobConfig): JobConfig => ({ type, interval, unit, startDate, tz, missed })

function definitionOf(source: JobDefinition): JobDefinition {
  const { title, config, notifications, httpPush, actions, active } = source
  return { title, config: configOf(config), notifications, httpPush, actions, active }
}

function existing(state: JobState, jobId: string, accountId: string): ExistingJob {
  if (state.status !== 'scheduled' || state.accountId !== accountId) throw new NotFoundError(`Job ${jobId} not found`, 'job_not_found')
  return state
}

const noFutureRun = (): ValidationError =>
  new ValidationError('A date job runs once, at a future time', [
    { field: 'config.start_date', problem: 'is not in the future: a date job runs once, at a future time' },
  ])

export const jobDecider: Decider<JobState, JobCommand, JobEvent> = {
  initialState: { status: 'none' },

  decide(command, state, now) {
    switch (command.type) {
      case 'ScheduleJob': {
        if (state.status !== 'none') throw new ConflictError(`Job ${command.data.jobId} already exists`, 'job_exists')
        const definition = definitionOf(command.data)
        const next = definition.active ? occurrenceAtOrAfter(definition.config, now.getTime()) : null
        if (definition.active && next === null) throw noFutureRun()
        return [
          {
            type: 'JobScheduled',
            data: {
              jobId: command.data.jobId,
              accountId: command.data.accountId,
              ...definition,
              nextRuntime: iso(next),
              scheduledAt: now.toISOString(),
            },
          },
        ]
      }
      case 'UpdateJob': {
        const job = existing(state, command.data.jobId, command.data.accountId)
        const { changes } = command.data
        const configChanged = !sameJson(configOf(job.config), configOf(changes.config))
        const active = changes.active ?? (job.active || (configChanged && job.completed))
        const definition = definitionOf({ ...job, ...changes, active })
        let next: number | null = null
        if (active && !configChanged && job.active) {
          // Same schedule: an occurrence that is due but not yet run stays due.
          next = job.nextRuntime === null ? null : Date.parse(job.nextRuntime)
        } else if (active) {
          const after = Math.max(now.getTime(), job.lastOccurrence === null ? -Infinity : Date.parse(job.lastOccurrence) + 1)
          next = occurrenceAtOrAfter(definition.config, after)
          if (next === null) throw noFutureRun()
        }
        const nextRuntime = iso(next)
        if (sameJson(definition, definitionOf(job)) && nextRuntime === job.nextRuntime) return []
        return [{ type: 'JobUpdated', data: { jobId: job.jobId, ...definition, nextRuntime, updatedAt: now.toISOString() } }]
      }
      case 'DeleteJob': {
        const job = existing(state, command.data.jobId, command.data.accountId)
        return [{ type: 'JobDeleted', data: { jobId: job.jobId, deletedAt: now.toISOString() } }]
      }
      case 'FireJob': {
        if (state.status !== 'scheduled' || !state.active || state.nextRuntime === null) return []
        const occurrence = Date.parse(command.data.occurrence)
        const due = Date.parse(state.nextRuntime)
        const at = now.getTime()
        // Already run, not due yet, or not the latest due (the schedule changed, or time moved on).
        if (Number.isNaN(occurrence) || occurrence < due || occurrence > at) return []
        if (latestOccurrenceAtOrBefore(state.config, at) !== occurrence) return []
        const missed = occurrence > due || at - occurrence > missedAfterMs
        const base = { jobId: state.jobId, accountId: state.accountId, title: state.title, occurrence: new Date(occurrence).toISOString() }
        const run: JobEvent =
          missed && state.config.missed === 'skip'
            ? { type: 'JobRunSkipped', data: { ...base, missedSince: state.nextRuntime, skippedAt: now.toISOString() } }
            : {
                type: 'JobFired',
                data: { ...base, firedAt: now.toISOString(), reason: missed ? 'catch_up' : 'on_time', effects: effectsOf(state) },
              }
        if (state.config.type !== 'date') return [run]
        return [run, { type: 'JobDeactivated', data: { jobId: state.jobId, reason: 'completed', deactivatedAt: now.toISOString() } }]
      }
      default:
        return unreachable(command)
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'JobScheduled': {
        const d = event.data
        return {
          status: 'scheduled',
          jobId: d.jobId,
          accountId: d.accountId,
          ...definitionOf(d),
          nextRuntime: d.nextRuntime,
          lastOccurrence: null,
          completed: false,
          createdAt: d.scheduledAt,
          updatedAt: d.scheduledAt,
        }
      }
      case 'JobUpdated': {
        if (state.status !== 'scheduled') return state
        const d = event.data
        return { ...state, ...definitionOf(d), nextRuntime: d.nextRuntime, completed: state.completed && !d.active, updatedAt: d.updatedAt }
      }
      case 'JobFired':
      case 'JobRunSkipped':
        if (state.status !== 'scheduled') return state
        return { ...state, lastOccurrence: event.data.occurrence, nextRuntime: nextRuntimeAfterRun(state.config, event.data.occurrence) }
      case 'JobDeactivated':
        if (state.status !== 'scheduled') return state
        return { ...state, active: false, nextRuntime: null, completed: true }
      case 'JobDeleted':
        return { status: 'deleted', jobId: event.data.jobId }
      default:
        return unreachable(event)
    }
  },
}

/** After a run of `occurrence`, the next one (what the aggregate and the read model both fold). */
export function nextRuntimeAfterRun(config: JobConfig, occurrence: string): string | null {
  return iso(occurrenceAfter(config, Date.parse(occurrence)))
}
