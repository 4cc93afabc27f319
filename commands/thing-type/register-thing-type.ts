/** POST /v1.1/things/types: an account registers a thing type of its own. */
import type { z } from 'zod'
import { thingTypeDecider, thingTypeStreamName, type RegisterThingType } from '../../domain/thing-type/thing-type.ts'
import { handleCommand, type CommandContext } from '../handle-command.ts'
import type { registerThingTypeBody } from './schemas.ts'

export function registerThingType(
  body: z.output<typeof registerThingTypeBody>,
  accountId: string | null,
  typeId: string,
  context: CommandContext,
) {
  const command: RegisterThingType = {
    type: 'RegisterThingType',
    data: {
      typeId,
      accountId,
      name: body.name,
      description: body.description,
      model: body.model ?? null,
      version: body.version ?? null,
      manufacturer: body.manufacturer ?? null,
      transportProtocol: body.transport_protocol,
      protocolVersion: body.protocol_version ?? null,
      category: body.category ?? null,
      subcategory: body.subcategory ?? null,
      dataType: body.data_type ?? null,
    },
  }
  return handleCommand(thingTypeDecider, thingTypeStreamName(typeId), command, context)
}
