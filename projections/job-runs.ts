/**
 * Read model `jobRuns`: one document per run of a job, fired or skipped, keyed by the id
 * of its JobFired or JobRunSkipped event. That id is also what the deliveries the run
 * asked for name as their cause (`deliveries.cause_event_id`), which is how a run's
 * outcomes are found.
 */
import type { JobEvent } from '../domain/job/job.ts'
import { projection } from './projection.ts'
import type { ReadStore } from '../domain/ports/read-store.ts'

export interface JobRunDocument {
  readonly id: string
  readonly job_id: string
  readonly account_id: string
  readonly occurrence: string
  readonly status: 'fired' | 'skipped'
  readonly reason: 'on_time' | 'catch_up' | 'missed'
  readonly fired_at: string | null
  readonly recorded_at: string
  readonly missed_since: string | null
  readonly [field: string]: unknown
}

type RunEvent = Extract<JobEvent, { type: 'JobFired' | 'JobRunSkipped' }>

export const jobRunsProjection = projection<RunEvent, JobRunDocument>({
  name: 'jobRuns',
  version: 1,
  collection: 'job_runs',
  indexes: ['job_id'],
  canHandle: ['JobFired', 'JobRunSkipped'],
  documentId: (event) => event.id,
  evolve(_document, event) {
    const d = event.data
    const run = { id: event.id, job_id: d.jobId, account_id: d.accountId, occurrence: d.occurrence }
    switch (event.type) {
      case 'JobFired':
        return { ...run, status: 'fired', reason: event.data.reason, fired_at: event.data.firedAt, recorded_at: event.data.firedAt, missed_since: null }
      case 'JobRunSkipped':
        return { ...run, status: 'skipped', reason: 'missed', fired_at: null, recorded_at: event.data.skippedAt, missed_since: event.data.missedSince }
    }
  },
})

/** The job's runs, newest occurrence first. */
export function runsOf(readStore: ReadStore, jobId: string, options: { limit: number; offset: number }): Promise<JobRunDocument[]> {
  return readStore
    .collection<JobRunDocument>(jobRunsProjection.collection)
    .find({ job_id: jobId }, { orderBy: 'occurrence', descending: true, limit: options.limit, offset: options.offset })
}
