/**
 * POST /v1.1/things/{thingId}/cmd: records a CommandRequested with the thing's next
 * `seq`. Delivering it over MQTT is a reactor's job (it reads the event), never this
 * request's.
 */
import type { z } from 'zod'
import { thingDecider, thingStreamName, type RequestCommand } from '../../domain/thing/thing.ts'
import { handleCommand, type CommandContext } from '../handle-command.ts'
import type { sendCommandBody } from './schemas.ts'

export function sendCommand(body: z.output<typeof sendCommandBody>, accountId: string, thingId: string, commandId: string, context: CommandContext) {
  const command: RequestCommand = {
    type: 'RequestCommand',
    data: { thingId, accountId, commandId, channel: body.channel, value: body.value },
  }
  return handleCommand(thingDecider, thingStreamName(thingId), command, context)
}
