/** PUT /v1.1/things/{thingId}: a partial update; absent fields stay as they are. */
import type { z } from 'zod'
import { NotFoundError } from '../../domain/errors.ts'
import { thingDecider, thingStreamName, type ThingFields, type UpdateThing } from '../../domain/thing/thing.ts'
import type { ReadStore } from '../../domain/ports/read-store.ts'
import { thingOfAccount } from '../../projections/things.ts'
import { handleCommand, type CommandContext } from '../handle-command.ts'
import { hierarchyFacts } from './hierarchy.ts'
import type { updateThingBody } from './schemas.ts'

export async function updateThing(
  body: z.output<typeof updateThingBody>,
  accountId: string,
  thingId: string,
  readStore: ReadStore,
  context: CommandContext,
) {
  const current = await thingOfAccount(readStore, accountId, thingId)
  if (!current) throw new NotFoundError(`Thing ${thingId} not found`, 'thing_not_found')
  const requested: { -readonly [K in keyof ThingFields]?: ThingFields[K] } = {
    name: body.name,
    deviceTypeId: body.device_type_id,
    parentId: body.parent_id,
    properties: body.properties,
    active: body.active,
    status: body.status,
  }
  const changes = Object.fromEntries(Object.entries(requested).filter(([, value]) => value !== undefined)) as Partial<ThingFields>
  const command: UpdateThing = {
    type: 'UpdateThing',
    data: {
      thingId,
      accountId,
      changes,
      hierarchy: await hierarchyFacts(readStore, accountId, {
        deviceTypeId: changes.deviceTypeId ?? current.device_type_id,
        parentId: changes.parentId === undefined ? current.parent_id : changes.parentId,
        thingId,
        currentTypeId: current.device_type_id,
      }),
    },
  }
  return handleCommand(thingDecider, thingStreamName(thingId), command, context)
}
