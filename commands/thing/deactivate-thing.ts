/** DELETE /v1.1/things/{thingId}: the thing is kept, with its history, as DEACTIVATED. */
import { thingDecider, thingStreamName, type DeactivateThing } from '../../domain/thing/thing.ts'
import { handleCommand, type CommandContext } from '../handle-command.ts'

export function deactivateThing(accountId: string, thingId: string, context: CommandContext) {
  const command: DeactivateThing = { type: 'DeactivateThing', data: { thingId, accountId } }
  return handleCommand(thingDecider, thingStreamName(thingId), command, context)
}
