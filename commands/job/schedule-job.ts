/** POST /v1.1/jobs: a job of the account, commanding things of the same account. */
import type { z } from 'zod'
import { jobDecider, jobStreamName, type ScheduleJob } from '../../domain/job/job.ts'
import type { ReadStore } from '../../domain/ports/read-store.ts'
import { handleCommand, type CommandContext } from '../handle-command.ts'
import { checkThings, definitionOf } from './definition.ts'
import type { createJobBody } from './schemas.ts'

export async function scheduleJob(
  body: z.output<typeof createJobBody>,
  accountId: string,
  jobId: string,
  readStore: ReadStore,
  context: CommandContext,
) {
  const definition = definitionOf(body, context.newId)
  await checkThings(readStore, accountId, definition.actions)
  const command: ScheduleJob = { type: 'ScheduleJob', data: { jobId, accountId, ...definition } }
  return handleCommand(jobDecider, jobStreamName(jobId), command, context)
}
