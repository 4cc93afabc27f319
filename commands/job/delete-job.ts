/** DELETE /v1.1/jobs/{jobId}: the job stops and is gone from the API; its history stays. */
import { jobDecider, jobStreamName, type DeleteJob } from '../../domain/job/job.ts'
import { handleCommand, type CommandContext } from '../handle-command.ts'

export function deleteJob(accountId: string, jobId: string, context: CommandContext) {
  const command: DeleteJob = { type: 'DeleteJob', data: { jobId, accountId } }
  return handleCommand(jobDecider, jobStreamName(jobId), command, context)
}
