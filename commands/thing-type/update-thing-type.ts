/** PUT /v1.1/things/types/{typeId}: a partial update of one of the account's own types. */
import type { z } from 'zod'
import {
  thingTypeDecider,
  thingTypeStreamName,
  type ThingTypeFields,
  type UpdateThingType,
} from '../../domain/thing-type/thing-type.ts'
import { handleCommand, type CommandContext } from '../handle-command.ts'
import type { updateThingTypeBody } from './schemas.ts'

export function updateThingType(
  body: z.output<typeof updateThingTypeBody>,
  accountId: string,
  typeId: string,
  context: CommandContext,
) {
  const requested: { -readonly [K in keyof ThingTypeFields]?: ThingTypeFields[K] } = {
    name: body.name,
    description: body.description,
    model: body.model,
    version: body.version,
    manufacturer: body.manufacturer,
    transportProtocol: body.transport_protocol,
    protocolVersion: body.protocol_version,
    category: body.category,
    subcategory: body.subcategory,
    dataType: body.data_type,
  }
  // Absent fields stay as they are: only what the body names is part of the command.
  const changes = Object.fromEntries(Object.entries(requested).filter(([, value]) => value !== undefined))
  const command: UpdateThingType = { type: 'UpdateThingType', data: { typeId, accountId, changes } }
  return handleCommand(thingTypeDecider, thingTypeStreamName(typeId), command, context)
}
