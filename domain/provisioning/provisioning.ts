/**
 * Provisioning batches: a manufacturer (or an operator) registers up to 500 devices at
 * once, before anyone owns them; a user later claims each by its hardware id (pairing,
 * in domain/thing).
 *
 * All or nothing: a batch is one stream `provisioning-<batchId>`, and the whole batch is
 * one append (a `ProvisioningBatchAccepted` followed by one `DeviceProvisioned` per
 * device), which the event store makes atomic. A rejected batch decides no event at all;
 * a crash cannot leave half a batch, because there is no second write. The read models
 * fan the events out to one document per device.
 *
 * Retries: the batch id can be derived from an Idempotency-Key, so a retried request
 * lands on the same stream and finds its batch there: same request, nothing new; another
 * request under the same key, a conflict.
 */
import { unreachable, type Command, type Decider, type DomainEvent } from '../decider.ts'
import { ConflictError, ValidationError, type ErrorDetail } from '../errors.ts'

export const maxBatchSize = 500

export interface DeviceToProvision {
  readonly thingId: string
  readonly hardwareId: string | null
  readonly deviceTypeId: string
  readonly codec: string | null
  /** how errors name this row's fields: e.g. `hardware_ids[3]` or `row 4 hardware_id` */
  readonly fieldNames: { readonly hardwareId: string; readonly deviceTypeId: string }
}

export type ProvisionedDevice = Omit<DeviceToProvision, 'fieldNames'>

// Events ------------------------------------------------------------------------------

export type ProvisioningBatchAccepted = DomainEvent<
  'ProvisioningBatchAccepted',
  {
    readonly batchId: string
    readonly accountId: string
    readonly applicationId: string | null
    readonly source: 'batch' | 'csv'
    /** identifies the request, so that a retry can be told from a reuse of its key */
    readonly fingerprint: string
    readonly count: number
    readonly acceptedAt: string
  }
>

export type DeviceProvisioned = DomainEvent<
  'DeviceProvisioned',
  ProvisionedDevice & {
    readonly batchId: string
    readonly accountId: string
    readonly applicationId: string | null
    readonly provisionedAt: string
  }
>

export type ProvisioningEvent = ProvisioningBatchAccepted | DeviceProvisioned

// Commands ----------------------------------------------------------------------------

export type ProvisionBatch = Command<
  'ProvisionBatch',
  {
    readonly batchId: string
    readonly accountId: string
    readonly applicationId: string | null
    readonly source: 'batch' | 'csv'
    readonly fingerprint: string
    readonly devices: readonly DeviceToProvision[]
    /** the device types among the requested ones that the account may use */
    readonly knownTypeIds: readonly string[]
    /** the requested hardware ids (normalized) that some earlier batch already registered */
    readonly registeredHardwareKeys: readonly string[]
  }
>

export type ProvisioningCommand = ProvisionBatch

// State -------------------------------------------------------------------------------

export type ProvisioningState =
  | { readonly status: 'empty' }
  | {
      readonly status: 'accepted'
      readonly batchId: string
      readonly accountId: string
      readonly applicationId: string | null
      readonly fingerprint: string
      readonly acceptedAt: string
      readonly devices: readonly ProvisionedDevice[]
    }

export const provisioningStreamName = (batchId: string): string => `provisioning-${batchId}`

/** Hardware ids are compared without regard to case or surrounding blanks (DevEUIs come in both cases). */
export const hardwareKey = (hardwareId: string): string => hardwareId.trim().toLowerCase()

/** Every problem of every row, so the caller can fix the whole file at once. */
export function batchProblems(command: ProvisionBatch['data']): ErrorDetail[] {
  const problems: ErrorDetail[] = []
  const { devices } = command
  if (devices.length === 0) problems.push({ field: 'count', problem: 'must be at least 1' })
  if (devices.length > maxBatchSize) problems.push({ field: 'count', problem: `must be at most ${maxBatchSize} devices per batch` })
  const known = new Set(command.knownTypeIds)
  const registered = new Set(command.registeredHardwareKeys)
  const firstSeen = new Map<string, string>()
  for (const device of devices) {
    if (!known.has(device.deviceTypeId)) {
      problems.push({ field: device.fieldNames.deviceTypeId, problem: `is not a thing type of this account: ${device.deviceTypeId}` })
    }
    if (device.hardwareId === null) continue
    const key = hardwareKey(device.hardwareId)
    const earlier = firstSeen.get(key)
    if (earlier !== undefined) {
      problems.push({ field: device.fieldNames.hardwareId, problem: `duplicates ${earlier} (${device.hardwareId})` })
      continue
    }
    firstSeen.set(key, device.fieldNames.hardwareId)
    if (registered.has(key)) problems.push({ field: device.fieldNames.hardwareId, problem: `is already registered (${device.hardwareId})` })
  }
  // One unknown type named by every row is one problem, not five hundred.
  const seen = new Set<string>()
  return problems.filter((p) => {
    const key = `${p.field}\u0000${p.problem}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

export const provisioningDecider: Decider<ProvisioningState, ProvisioningCommand, ProvisioningEvent> = {
  initialState: { status: 'empty' },

  decide(command, state, now) {
    switch (command.type) {
      case 'ProvisionBatch': {
        const data = command.data
        if (state.status === 'accepted') {
          if (state.accountId === data.accountId && state.fingerprint === data.fingerprint) return []
          throw new ConflictError(
            'This Idempotency-Key was already used for a different request',
            'idempotency_key_reused',
            [{ field: 'Idempotency-Key', problem: 'was used for another request; use a new key' }],
          )
        }
        const problems = batchProblems(data)
        if (problems.length > 0) {
          throw new ValidationError(
            `The batch was rejected and nothing was provisioned: ${problems.length} problem${problems.length === 1 ? '' : 's'}`,
            problems,
            'batch_rejected',
          )
        }
        const at = now.toISOString()
        const { batchId, accountId, applicationId } = data
        return [
          {
            type: 'ProvisioningBatchAccepted',
            data: { batchId, accountId, applicationId, source: data.source, fingerprint: data.fingerprint, count: data.devices.length, acceptedAt: at },
          },
          ...data.devices.map(
            (device): DeviceProvisioned => ({
              type: 'DeviceProvisioned',
              data: {
                thingId: device.thingId,
                hardwareId: device.hardwareId,
                deviceTypeId: device.deviceTypeId,
                codec: device.codec,
                batchId,
                accountId,
                applicationId,
                provisionedAt: at,
              },
            }),
          ),
        ]
      }
      default:
        return unreachable(command.type)
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'ProvisioningBatchAccepted': {
        const { batchId, accountId, applicationId, fingerprint, acceptedAt } = event.data
        return { status: 'accepted', batchId, accountId, applicationId, fingerprint, acceptedAt, devices: [] }
      }
      case 'DeviceProvisioned': {
        if (state.status !== 'accepted') return state
        const { thingId, hardwareId, deviceTypeId, codec } = event.data
        return { ...state, devices: [...state.devices, { thingId, hardwareId, deviceTypeId, codec }] }
      }
      default:
        return unreachable(event)
    }
  },
}
