/**
 * POST /v1.1/things/pair: a user claims a provisioned device by its hardware id; it
 * becomes an ACTIVE thing of the user's account, under the id it was provisioned with.
 * The thing's stream must not exist yet, so two users pairing the same device at once
 * cannot both succeed: the second finds it paired (409).
 */
import type { z } from 'zod'
import { ConflictError, NotFoundError } from '../../domain/errors.ts'
import { thingDecider, thingStreamName, type PairThing } from '../../domain/thing/thing.ts'
import { deviceByHardwareId } from '../../projections/provisioned-devices.ts'
import type { ReadStore } from '../../domain/ports/read-store.ts'
import { handleCommand, type CommandContext } from '../handle-command.ts'
import type { pairThingBody } from './schemas.ts'

export async function pairThing(
  body: z.output<typeof pairThingBody>,
  accountId: string,
  userId: string,
  readStore: ReadStore,
  context: CommandContext,
) {
  const device = await deviceByHardwareId(readStore, body.hardware_id)
  if (!device || device.hardware_id === null) {
    throw new NotFoundError(`No provisioned device has the hardware id ${body.hardware_id}`, 'device_not_found')
  }
  if (device.status === 'PAIRED') throw new ConflictError(`The device ${device.hardware_id} is already paired`, 'already_paired')
  const command: PairThing = {
    type: 'PairThing',
    data: {
      thingId: device.id,
      accountId,
      pairedByUserId: userId,
      name: body.name ?? device.hardware_id,
      deviceTypeId: device.device_type_id,
      hardwareId: device.hardware_id,
      codec: device.codec,
      batchId: device.batch_id,
      provisionedByAccountId: device.account_id,
    },
  }
  return handleCommand(thingDecider, thingStreamName(device.id), command, context)
}
