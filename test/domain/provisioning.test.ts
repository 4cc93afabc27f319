import t from 'tap'
import { ConflictError, ValidationError } from '../../domain/errors.ts'
import { batchProblems, provisioningDecider, type ProvisionBatch, type ProvisioningEvent } from '../../domain/provisioning/provisioning.ts'
import { given } from '../helpers/decider-spec.ts'

const now = new Date('2026-01-02T03:04:05.000Z')
const at = now.toISOString()
const typeId = '00000000-0000-4000-8000-000000000001'
const spec = given(provisioningDecider, now)

const device = (i: number, hardwareId: string | null = `HW-${i}`) => ({
  thingId: `thing-${i}`,
  hardwareId,
  deviceTypeId: typeId,
  codec: null,
  fieldNames: { hardwareId: `hardware_ids[${i}]`, deviceTypeId: 'device_type_id' },
})
const batch = (devices = [device(0), device(1)], over: Partial<ProvisionBatch['data']> = {}): ProvisionBatch => ({
  type: 'ProvisionBatch',
  data: {
    batchId: 'batch-1',
    accountId: 'acc-1',
    applicationId: null,
    source: 'batch',
    fingerprint: 'fp-1',
    devices,
    knownTypeIds: [typeId],
    registeredHardwareKeys: [],
    ...over,
  },
})
const accepted: ProvisioningEvent = {
  type: 'ProvisioningBatchAccepted',
  data: { batchId: 'batch-1', accountId: 'acc-1', applicationId: null, source: 'batch', fingerprint: 'fp-1', count: 2, acceptedAt: at },
}

t.test('an empty batch stream', async (t) => {
  t.test('accepts the batch: one header and one event per device, in one decision', async (t) => {
    const events = provisioningDecider.decide(batch(), provisioningDecider.initialState, now)
    t.equal(events.length, 3)
    t.strictSame(events[0], accepted)
    t.strictSame(events[1], {
      type: 'DeviceProvisioned',
      data: { thingId: 'thing-0', hardwareId: 'HW-0', deviceTypeId: typeId, codec: null, batchId: 'batch-1', accountId: 'acc-1', applicationId: null, provisionedAt: at },
    })
  })
  t.test('accepts devices without hardware ids', async (t) => {
    t.equal(provisioningDecider.decide(batch([device(0, null), device(1, null)]), provisioningDecider.initialState, now).length, 3)
  })
  t.test('rejects the whole batch for one already registered id, and names the row', async (t) => {
    spec([]).when(batch(undefined, { registeredHardwareKeys: ['hw-1'] })).thenThrows(t, ValidationError)
    t.strictSame(batchProblems(batch(undefined, { registeredHardwareKeys: ['hw-1'] }).data), [
      { field: 'hardware_ids[1]', problem: 'is already registered (HW-1)' },
    ])
  })
  t.test('rejects duplicates within the batch, ignoring case and blanks', async (t) => {
    const problems = batchProblems(batch([device(0, 'ab'), device(1, ' AB ')]).data)
    t.strictSame(problems, [{ field: 'hardware_ids[1]', problem: 'duplicates hardware_ids[0] ( AB )' }])
  })
  t.test('rejects an unknown type once, not once per row', async (t) => {
    t.equal(batchProblems(batch(undefined, { knownTypeIds: [] }).data).length, 1)
  })
  t.test('rejects an empty batch and one of 501', async (t) => {
    spec([]).when(batch([])).thenThrows(t, ValidationError)
    spec([]).when(batch(Array.from({ length: 501 }, (_, i) => device(i)))).thenThrows(t, ValidationError)
  })
  t.test('accepts exactly 500', async (t) => {
    t.equal(provisioningDecider.decide(batch(Array.from({ length: 500 }, (_, i) => device(i))), provisioningDecider.initialState, now).length, 501)
  })
})

t.test('an accepted batch', async (t) => {
  const history: ProvisioningEvent[] = provisioningDecider.decide(batch(), provisioningDecider.initialState, now)
  t.test('the same request again (a retry) records nothing', async (t) => {
    spec(history).when(batch(undefined, { registeredHardwareKeys: ['hw-0', 'hw-1'] })).thenNothingHappened(t)
  })
  t.test('another request under the same key is a conflict', async (t) => {
    spec(history).when(batch(undefined, { fingerprint: 'fp-2' })).thenThrows(t, ConflictError)
  })
  t.test('folds into the devices it holds', async (t) => {
    const state = history.reduce(provisioningDecider.evolve, provisioningDecider.initialState)
    t.equal(state.status, 'accepted')
    if (state.status === 'accepted') t.strictSame(state.devices.map((d) => d.thingId), ['thing-0', 'thing-1'])
  })
})
