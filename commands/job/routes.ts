/** The job endpoints of the platform API, and the runs of a job (beyond the API text). */
import { z } from 'zod'
import { NotFoundError } from '../../domain/errors.ts'
import type { ExistingJob, JobState } from '../../domain/job/job.ts'
import { deliveriesCausedBy } from '../../projections/deliveries.ts'
import { runsOf, type JobRunDocument } from '../../projections/job-runs.ts'
import { jobOfAccount, jobsOf, jobViewOf, toJobView } from '../../projections/jobs.ts'
import type { ReadStore } from '../../domain/ports/read-store.ts'
import { endpoint, uuidParam, type Endpoint } from '../http/endpoint.ts'
import { accountOf } from '../http/tenancy.ts'
import type { RouteDeps } from '../route-deps.ts'
import { deleteJob } from './delete-job.ts'
import { scheduleJob } from './schedule-job.ts'
import { createJobBody, jobResponse, jobRunResponse, runsQuery, successResponse, updateJobBody } from './schemas.ts'
import { updateJob } from './update-job.ts'

const notFound = (id: string) => new NotFoundError(`Job ${id} not found`, 'job_not_found')

/** A run with what its effects led to: the deliveries that name its event as their cause. */
async function runView(readStore: ReadStore, run: JobRunDocument): Promise<z.output<typeof jobRunResponse>> {
  const deliveries = run.status === 'fired' ? await deliveriesCausedBy(readStore, run.id) : []
  return {
    id: run.id,
    occurrence: run.occurrence,
    status: run.status,
    reason: run.reason,
    fired_at: run.fired_at,
    recorded_at: run.recorded_at,
    missed_since: run.missed_since,
    outcomes: deliveries.map((d) => ({
      delivery_id: d.id,
      effect: d.cause.effect,
      channel: d.channel,
      target: d.target,
      status: d.status,
      attempts: d.attempts.length,
      reason: d.reason,
      updated_at: d.updated_at,
    })),
  }
}

export function jobEndpoints(deps: RouteDeps): Endpoint[] {
  const tags = ['Jobs']
  const existingOf = (state: JobState): ExistingJob => {
    if (state.status !== 'scheduled') throw new Error('job does not exist after the command')
    return state
  }
  const jobOrNotFound = async (accountId: string, jobId: string) => {
    const document = await jobOfAccount(deps.readStore, accountId, jobId)
    if (!document) throw notFound(jobId)
    return document
  }
  const params = { jobId: uuidParam('job id (UUID)', notFound) }

  return [
    endpoint({
      method: 'post',
      path: '/v1.1/jobs',
      operationId: 'createJob',
      summary: 'Create a job: notifications, HTTP pushes and device actions on a schedule',
      description:
        '`config.start_date` is a wall-clock time in `config.tz` ("2017-04-28 04:16"), or an instant with Z or an offset. ' +
        'Minute and hour intervals are elapsed time; day, month and year intervals keep the wall-clock time across daylight saving. ' +
        'A skipped wall time (spring forward) runs at the same time after the shift (02:30 → 03:30); a repeated one runs once, the first time. ' +
        'A monthly job on the 29th-31st runs on the last day of shorter months.',
      tags,
      auth: 'bearer',
      body: createJobBody,
      responses: { 200: { description: 'The created job', schema: jobResponse, headers: { ETag: 'revision' } } },
      async handle({ req, body, context }) {
        const result = await scheduleJob(body, accountOf(req), deps.newId(), deps.readStore, context())
        return { body: jobViewOf(existingOf(result.state), result.revision), revision: result.revision, position: result.position }
      },
    }),
    endpoint({
      method: 'get',
      path: '/v1.1/jobs',
      operationId: 'listJobs',
      summary: 'The account\'s jobs, oldest first',
      tags,
      auth: 'bearer',
      responses: { 200: { description: 'Jobs', schema: z.array(jobResponse) } },
      async handle({ req }) {
        const documents = await jobsOf(deps.readStore, accountOf(req))
        return { body: documents.map(toJobView) }
      },
    }),
    endpoint({
      method: 'get',
      path: '/v1.1/jobs/{jobId}',
      operationId: 'getJob',
      summary: 'A single job',
      tags,
      auth: 'bearer',
      params,
      responses: { 200: { description: 'The job', schema: jobResponse, headers: { ETag: 'revision, for If-Match' } } },
      async handle({ req, params }) {
        const document = await jobOrNotFound(accountOf(req), params.jobId)
        return { body: toJobView(document), revision: document.revision }
      },
    }),
    endpoint({
      method: 'put',
      path: '/v1.1/jobs/{jobId}',
      operationId: 'updateJob',
      summary: 'Update a job: config is required; other fields given replace the job\'s, absent ones stay',
      tags,
      auth: 'bearer',
      params,
      ifMatch: true,
      body: updateJobBody,
      responses: { 200: { description: 'The updated job', schema: jobResponse, headers: { ETag: 'revision' } } },
      async handle({ req, params, body, context }) {
        const result = await updateJob(body, accountOf(req), params.jobId, deps.readStore, context())
        return { body: jobViewOf(existingOf(result.state), result.revision), revision: result.revision, position: result.position }
      },
    }),
    endpoint({
      method: 'delete',
      path: '/v1.1/jobs/{jobId}',
      operationId: 'deleteJob',
      summary: 'Delete a job: it runs no more; its history stays in the log',
      tags,
      auth: 'bearer',
      params,
      responses: { 200: { description: 'Deleted', schema: successResponse } },
      async handle({ req, params, context }) {
        const result = await deleteJob(accountOf(req), params.jobId, context())
        return { body: { success: true }, position: result.position }
      },
    }),
    endpoint({
      method: 'get',
      path: '/v1.1/jobs/{jobId}/runs',
      operationId: 'listJobRuns',
      summary: 'The job\'s runs, newest first, with what each led to (beyond the API text)',
      tags,
      auth: 'bearer',
      params,
      query: runsQuery,
      responses: { 200: { description: 'Runs', schema: z.array(jobRunResponse) } },
      async handle({ req, params, query }) {
        await jobOrNotFound(accountOf(req), params.jobId)
        const runs = await runsOf(deps.readStore, params.jobId, query)
        return { body: await Promise.all(runs.map((run) => runView(deps.readStore, run))) }
      },
    }),
  ]
}
