/** POST /v1.1/things: a thing of the caller's account, after its MQTT credentials exist. */
import type { z } from 'zod'
import { ValidationError } from '../../domain/errors.ts'
import { thingDecider, thingStreamName, type CreateThing } from '../../domain/thing/thing.ts'
import { genericThingTypeId } from '../../domain/thing-type/thing-type.ts'
import { accountHasMqttClient } from '../../projections/mqtt-clients.ts'
import type { ReadStore } from '../../domain/ports/read-store.ts'
import { handleCommand, type CommandContext } from '../handle-command.ts'
import { hierarchyFacts } from './hierarchy.ts'
import type { createThingBody } from './schemas.ts'

export async function createThing(
  body: z.output<typeof createThingBody>,
  accountId: string,
  thingId: string,
  readStore: ReadStore,
  context: CommandContext,
) {
  if (!(await accountHasMqttClient(readStore, accountId))) {
    throw new ValidationError(
      'Call POST /v1.1/clients first: a thing connects with the account\'s MQTT credentials',
      [{ field: 'POST /v1.1/clients', problem: 'must be called before creating a thing' }],
      'mqtt_client_required',
    )
  }
  const deviceTypeId = body.device_type_id ?? genericThingTypeId
  const parentId = body.parent_id ?? null
  const command: CreateThing = {
    type: 'CreateThing',
    data: {
      thingId,
      accountId,
      name: body.name,
      deviceTypeId,
      parentId,
      properties: body.properties ?? {},
      active: body.active ?? 1,
      status: body.status ?? 'ACTIVE',
      hierarchy: await hierarchyFacts(readStore, accountId, { deviceTypeId, parentId, thingId: null }),
    },
  }
  return handleCommand(thingDecider, thingStreamName(thingId), command, context)
}
