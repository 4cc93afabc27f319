/** The job endpoints of the platform API, and the runs of a job (beyond the API text). */
import { Router, type Request } from 'express'
import { z } from 'zod'
import { NotFoundError } from '../../domain/errors.ts'
import type { ExistingJob, JobState } from '../../domain/job/job.ts'
import { deliveriesCausedBy } from '../../projections/deliveries.ts'
import { runsOf, type JobRunDocument } from '../../projections/job-runs.ts'
import { jobOfAccount, jobsOf, jobViewOf, toJobView } from '../../projections/jobs.ts'
import type { ReadStore } from '../../projections/read-store.ts'
import { ifMatchRevision, setRevisionTag } from '../http/etag.ts'
import { commandContextOf, uuidParamOf } from '../http/requests.ts'
import { accountOf } from '../http/tenancy.ts'
import { parseInput } from '../http/validate.ts'
import type { RouteDeps } from '../route-deps.ts'
import { deleteJob } from './delete-job.ts'
import { scheduleJob } from './schedule-job.ts'
import { createJobBody, jobResponse, jobRunResponse, runsQuery, successResponse, updateJobBody } from './schemas.ts'
import { updateJob } from './update-job.ts'

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

export function jobRoutes(deps: RouteDeps): Router {
  const router = Router()
  const tags = ['Jobs']
  const jobIdOf = (req: Request): string => uuidParamOf(req, 'jobId', (id) => new NotFoundError(`Job ${id} not found`, 'job_not_found'))
  const contextOf = (req: Request, ifMatch?: number) => commandContextOf(deps, req, ifMatch)
  const existingOf = (state: JobState): ExistingJob => {
    if (state.status !== 'scheduled') throw new Error('job does not exist after the command')
    return state
  }
  const jobOrNotFound = async (accountId: string, jobId: string) => {
    const document = await jobOfAccount(deps.readStore, accountId, jobId)
    if (!document) throw new NotFoundError(`Job ${jobId} not found`, 'job_not_found')
    return document
  }
  const jobIdPath = { jobId: 'job id (UUID)' }

  deps.openapi.add({
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
    secured: true,
    body: createJobBody,
    responses: { 200: { description: 'The created job', schema: jobResponse, headers: { ETag: 'revision' } } },
  })
  router.post('/v1.1/jobs', deps.requireBearer, async (req, res) => {
    const body = parseInput(createJobBody, req.body)
    const result = await scheduleJob(body, accountOf(req), deps.newId(), deps.readStore, contextOf(req))
    await deps.readYourWrites(result.position)
    setRevisionTag(res, result.revision)
    res.json(jobViewOf(existingOf(result.state), result.revision))
  })

  deps.openapi.add({
    method: 'get',
    path: '/v1.1/jobs',
    operationId: 'listJobs',
    summary: 'The account\'s jobs, oldest first',
    tags,
    secured: true,
    responses: { 200: { description: 'Jobs', schema: z.array(jobResponse) } },
  })
  router.get('/v1.1/jobs', deps.requireBearer, async (req, res) => {
    const documents = await jobsOf(deps.readStore, accountOf(req))
    res.json(documents.map(toJobView))
  })

  deps.openapi.add({
    method: 'get',
    path: '/v1.1/jobs/{jobId}',
    operationId: 'getJob',
    summary: 'A single job',
    tags,
    secured: true,
    pathParams: jobIdPath,
    responses: { 200: { description: 'The job', schema: jobResponse, headers: { ETag: 'revision, for If-Match' } } },
  })
  router.get('/v1.1/jobs/:jobId', deps.requireBearer, async (req, res) => {
    const document = await jobOrNotFound(accountOf(req), jobIdOf(req))
    setRevisionTag(res, document.revision)
    res.json(toJobView(document))
  })

  deps.openapi.add({
    method: 'put',
    path: '/v1.1/jobs/{jobId}',
    operationId: 'updateJob',
    summary: 'Update a job: config is required; other fields given replace the job\'s, absent ones stay',
    tags,
    secured: true,
    pathParams: jobIdPath,
    headers: [{ name: 'If-Match', description: 'apply only if the job is still at this ETag (412 otherwise)' }],
    body: updateJobBody,
    responses: {
      200: { description: 'The updated job', schema: jobResponse, headers: { ETag: 'revision' } },
      412: { description: 'If-Match no longer holds' },
    },
  })
  router.put('/v1.1/jobs/:jobId', deps.requireBearer, async (req, res) => {
    const jobId = jobIdOf(req)
    const body = parseInput(updateJobBody, req.body)
    const result = await updateJob(body, accountOf(req), jobId, deps.readStore, contextOf(req, ifMatchRevision(req)))
    await deps.readYourWrites(result.position)
    setRevisionTag(res, result.revision)
    res.json(jobViewOf(existingOf(result.state), result.revision))
  })

  deps.openapi.add({
    method: 'delete',
    path: '/v1.1/jobs/{jobId}',
    operationId: 'deleteJob',
    summary: 'Delete a job: it runs no more; its history stays in the log',
    tags,
    secured: true,
    pathParams: jobIdPath,
    responses: { 200: { description: 'Deleted', schema: successResponse } },
  })
  router.delete('/v1.1/jobs/:jobId', deps.requireBearer, async (req, res) => {
    const result = await deleteJob(accountOf(req), jobIdOf(req), contextOf(req))
    await deps.readYourWrites(result.position)
    res.json({ success: true })
  })

  deps.openapi.add({
    method: 'get',
    path: '/v1.1/jobs/{jobId}/runs',
    operationId: 'listJobRuns',
    summary: 'The job\'s runs, newest first, with what each led to (beyond the API text)',
    tags,
    secured: true,
    pathParams: jobIdPath,
    query: runsQuery,
    responses: { 200: { description: 'Runs', schema: z.array(jobRunResponse) } },
  })
  router.get('/v1.1/jobs/:jobId/runs', deps.requireBearer, async (req, res) => {
    const jobId = jobIdOf(req)
    const query = parseInput(runsQuery, req.query, 'query')
    await jobOrNotFound(accountOf(req), jobId)
    const runs = await runsOf(deps.readStore, jobId, query)
    res.json(await Promise.all(runs.map((run) => runView(deps.readStore, run))))
  })

  return router
}
