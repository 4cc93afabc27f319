/**
 * The one provisioning path, for JSON batches and CSV files alike. It gathers what the
 * decider needs (which requested types the account may use, which hardware ids an earlier
 * batch registered), then decides and appends the whole batch to its own stream in one
 * append: nothing is written unless every row is good.
 *
 * Hardware ids are unique across batches. The check reads the `provisionedDevices` read
 * model after it has caught up with the log, and batches are decided one at a time per
 * process, so two batches of this process cannot both claim an id. (Several nodes on the
 * scale-out engines would need a reservation stream per hardware id; see the README.)
 */
import { fold } from '../../domain/decider.ts'
import {
  provisioningDecider,
  provisioningStreamName,
  hardwareKey,
  type DeviceToProvision,
  type ProvisionBatch,
  type ProvisionedDevice,
  type ProvisioningState,
} from '../../domain/provisioning/provisioning.ts'
import { registeredHardwareKeys } from '../../projections/provisioned-devices.ts'
import type { ProvisionedDeviceView } from '../../projections/provisioned-devices.ts'
import type { ReadStore } from '../../domain/ports/read-store.ts'
import { thingTypeVisibleTo } from '../../projections/thing-types.ts'
import type { EventStore } from '../../domain/ports/event-store.ts'
import { handleCommand, type CommandContext } from '../handle-command.ts'
import { deterministicId, fingerprintOf } from '../ids.ts'

export interface BatchRequest {
  readonly accountId: string
  readonly applicationId: string | null
  readonly source: 'batch' | 'csv'
  readonly rows: readonly Omit<DeviceToProvision, 'thingId'>[]
  readonly idempotencyKey: string | undefined
  readonly dryRun: boolean
}

export interface BatchDeps {
  readonly eventStore: EventStore
  readonly readStore: ReadStore
  readonly readYourWrites: (position: number | null) => Promise<void>
  /** runs batches one after another (see above) */
  readonly serialize: <T>(work: () => Promise<T>) => Promise<T>
}

export interface BatchResult {
  readonly batchId: string
  readonly devices: readonly ProvisionedDeviceView[]
  /** false for a retry answered from the first request, and for a dry run */
  readonly created: boolean
}

/** A queue of one: each piece of work starts after the previous one settled. */
export function serialQueue(): BatchDeps['serialize'] {
  let tail: Promise<unknown> = Promise.resolve()
  return <T>(work: () => Promise<T>): Promise<T> => {
    const run = tail.then(work, work)
    tail = run.catch(() => undefined)
    return run
  }
}

function viewsOf(state: ProvisioningState, devices: readonly ProvisionedDevice[], acceptedAt: string, applicationId: string | null): ProvisionedDeviceView[] {
  const at = state.status === 'accepted' ? state.acceptedAt : acceptedAt
  return devices.map((device) => ({
    id: device.thingId,
    application_id: state.status === 'accepted' ? state.applicationId : applicationId,
    hardware_id: device.hardwareId,
    device_type_id: device.deviceTypeId,
    codec: device.codec,
    status: 'PENDING',
    created_at: at,
  }))
}

export async function provisionBatch(request: BatchRequest, deps: BatchDeps, context: CommandContext): Promise<BatchResult> {
  const { accountId, applicationId } = request
  const batchId = request.idempotencyKey === undefined ? context.newId() : deterministicId('provisioning-batch', accountId, request.idempotencyKey)
  const fingerprint = fingerprintOf({ source: request.source, applicationId, rows: request.rows.map(({ fieldNames: _f, ...row }) => row) })

  return deps.serialize(async () => {
    // The uniqueness check below must see every batch appended so far.
    await deps.readYourWrites(await deps.eventStore.headPosition())
    const typeIds = [...new Set(request.rows.map((row) => row.deviceTypeId))]
    const knownTypeIds: string[] = []
    for (const typeId of typeIds) if (await thingTypeVisibleTo(deps.readStore, accountId, typeId)) knownTypeIds.push(typeId)
    const keys = request.rows.flatMap((row) => (row.hardwareId === null ? [] : [hardwareKey(row.hardwareId)]))
    const command: ProvisionBatch = {
      type: 'ProvisionBatch',
      data: {
        batchId,
        accountId,
        applicationId,
        source: request.source,
        fingerprint,
        devices: request.rows.map((row) => ({ ...row, thingId: context.newId() })),
        knownTypeIds,
        registeredHardwareKeys: await registeredHardwareKeys(deps.readStore, [...new Set(keys)]),
      },
    }
    const stream = provisioningStreamName(batchId)

    if (request.dryRun) {
      const state = fold(provisioningDecider, (await deps.eventStore.readStream(stream)) as never[])
      const now = context.now()
      provisioningDecider.decide(command, state, now)
      const devices = state.status === 'accepted' ? state.devices : command.data.devices
      return { batchId, devices: viewsOf(state, devices, now.toISOString(), applicationId), created: false }
    }

    const result = await handleCommand(provisioningDecider, stream, command, context)
    await deps.readYourWrites(result.position)
    if (result.state.status !== 'accepted') throw new Error('provisioning batch was not accepted')
    return {
      batchId,
      devices: viewsOf(result.state, result.state.devices, result.state.acceptedAt, applicationId),
      created: result.newEvents.length > 0,
    }
  })
}
