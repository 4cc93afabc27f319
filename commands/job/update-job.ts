/** PUT /v1.1/jobs/{jobId}: a new config, and whichever other fields the body names. */
import type { z } from 'zod'
import { NotFoundError } from '../../domain/errors.ts'
import { jobDecider, jobStreamName, type UpdateJob } from '../../domain/job/job.ts'
import type { ReadStore } from '../../domain/ports/read-store.ts'
import { handleCommand, type CommandContext } from '../handle-command.ts'
import { loadState } from '../load-state.ts'
import { changesOf, checkThings } from './definition.ts'
import type { updateJobBody } from './schemas.ts'

export async function updateJob(
  body: z.output<typeof updateJobBody>,
  accountId: string,
  jobId: string,
  readStore: ReadStore,
  context: CommandContext,
) {
  // The job's items as they are, so that items sent back keep their ids.
  const current = await loadState(jobDecider, jobStreamName(jobId), context.eventStore)
  if (current.status !== 'scheduled' || current.accountId !== accountId) throw new NotFoundError(`Job ${jobId} not found`, 'job_not_found')
  const changes = changesOf(body, current, context.newId)
  await checkThings(readStore, accountId, changes.actions)
  const command: UpdateJob = { type: 'UpdateJob', data: { jobId, accountId, changes } }
  return handleCommand(jobDecider, jobStreamName(jobId), command, context)
}
