import t from 'tap'
import { ConflictError, NotFoundError, ValidationError } from '../../domain/errors.ts'
import { thingDecider, type HierarchyFacts, type ThingCommand, type ThingEvent } from '../../domain/thing/thing.ts'
import { given } from '../helpers/decider-spec.ts'

const now = new Date('2026-01-02T03:04:05.000Z')
const at = now.toISOString()
const thingId = '11111111-1111-4111-8111-111111111111'
const parentId = '22222222-2222-4222-8222-222222222222'
const typeId = '00000000-0000-4000-8000-000000000001'
const spec = given(thingDecider, now)

const open: HierarchyFacts = { type: { id: typeId, parentConstraint: 'ALLOWED', childConstraint: 'ALLOWED' }, parent: null, hasChildren: false }
const withParent = (over: Partial<NonNullable<HierarchyFacts['parent']>> = {}, type: Partial<HierarchyFacts['type']> = {}): HierarchyFacts => ({
  ...open,
  type: { ...open.type, ...type },
  parent: { thingId: parentId, status: 'ACTIVE', childConstraint: 'ALLOWED', ancestorIds: [], ...over },
})
const fields = { name: 'Sensor', deviceTypeId: typeId, parentId: null, properties: { a: 1 }, active: 1, status: 'ACTIVE' } as const
const create = (hierarchy: HierarchyFacts = open, parent: string | null = null): ThingCommand => ({
  type: 'CreateThing',
  data: { thingId, accountId: 'acc-1', ...fields, parentId: parent, hierarchy },
})
const created: ThingEvent = { type: 'ThingCreated', data: { thingId, accountId: 'acc-1', ...fields, createdAt: '2026-01-01T00:00:00.000Z' } }
const pair: ThingCommand = {
  type: 'PairThing',
  data: {
    thingId,
    accountId: 'acc-2',
    pairedByUserId: 'user-2',
    name: 'Tracker',
    deviceTypeId: typeId,
    hardwareId: 'IMEI-1',
    codec: null,
    batchId: 'batch-1',
    provisionedByAccountId: 'acc-maker',
  },
}
const update = (changes: object, hierarchy: HierarchyFacts = open, accountId = 'acc-1'): ThingCommand => ({
  type: 'UpdateThing',
  data: { thingId, accountId, changes, hierarchy },
})
const requestCommand = (accountId = 'acc-1'): ThingCommand => ({
  type: 'RequestCommand',
  data: { thingId, accountId, commandId: 'cmd-1', channel: 3, value: 0 },
})

t.test('a thing that does not exist', async (t) => {
  t.test('is created with the time of the command', async (t) => {
    const { hierarchy: _h, ...data } = create().data as Extract<ThingCommand, { type: 'CreateThing' }>['data']
    spec([]).when(create()).then(t, [{ type: 'ThingCreated', data: { ...data, createdAt: at } }])
  })
  t.test('is created under a parent whose type takes children', async (t) => {
    spec([]).when(create(withParent(), parentId)).then(t, [
      { type: 'ThingCreated', data: { thingId, accountId: 'acc-1', ...fields, parentId, createdAt: at } },
    ])
  })
  t.test('refuses a parent that is not a thing of the account', async (t) => {
    spec([]).when(create(open, parentId)).thenThrows(t, ValidationError)
  })
  t.test("refuses a parent whose type takes no children", async (t) => {
    spec([]).when(create(withParent({ childConstraint: 'NOT_ALLOWED' }), parentId)).thenThrows(t, ValidationError)
  })
  t.test('refuses a parent when its own type takes no parent', async (t) => {
    spec([]).when(create(withParent({}, { parentConstraint: 'NOT_ALLOWED' }), parentId)).thenThrows(t, ValidationError)
  })
  t.test('refuses a deactivated parent', async (t) => {
    spec([]).when(create(withParent({ status: 'DEACTIVATED' }), parentId)).thenThrows(t, ValidationError)
  })
  t.test('is paired into the user\'s account', async (t) => {
    spec([]).when(pair).then(t, [{ type: 'ThingPaired', data: { ...(pair.data as object), pairedAt: at } as never }])
  })
  t.test('refuses updates, deactivation and commands as not found', async (t) => {
    spec([]).when(update({ name: 'x' })).thenThrows(t, NotFoundError)
    spec([]).when({ type: 'DeactivateThing', data: { thingId, accountId: 'acc-1' } }).thenThrows(t, NotFoundError)
    spec([]).when(requestCommand()).thenThrows(t, NotFoundError)
  })
})

t.test('an active thing', async (t) => {
  t.test('refuses to be created again', async (t) => {
    spec([created]).when(create()).thenThrows(t, ConflictError)
  })
  t.test('refuses to be paired: it is already there', async (t) => {
    spec([created]).when(pair).thenThrows(t, ConflictError)
  })
  t.test('records only the fields that change', async (t) => {
    spec([created]).when(update({ name: 'Sensor', properties: { a: 2 } })).then(t, [
      { type: 'ThingUpdated', data: { thingId, changes: { properties: { a: 2 } }, updatedAt: at } },
    ])
  })
  t.test('an update that changes nothing records nothing', async (t) => {
    spec([created]).when(update({ name: 'Sensor', properties: { a: 1 } })).thenNothingHappened(t)
  })
  t.test("refuses another account's update as not found", async (t) => {
    spec([created]).when(update({ name: 'Mine' }, open, 'acc-2')).thenThrows(t, NotFoundError)
  })
  t.test('refuses to become its own ancestor', async (t) => {
    spec([created]).when(update({ parentId }, withParent({ ancestorIds: ['x', thingId] }))).thenThrows(t, ValidationError)
  })
  t.test('refuses to become its own parent', async (t) => {
    spec([created]).when(update({ parentId: thingId }, { ...open, parent: { thingId, status: 'ACTIVE', childConstraint: 'ALLOWED', ancestorIds: [] } })).thenThrows(t, ValidationError)
  })
  t.test('with children, refuses a type that takes no children', async (t) => {
    spec([created])
      .when(update({ deviceTypeId: '00000000-0000-4000-8000-000000000003' }, { ...open, type: { ...open.type, childConstraint: 'NOT_ALLOWED' }, hasChildren: true }))
      .thenThrows(t, ValidationError)
  })
  t.test('records a command with seq 1, then 2', async (t) => {
    spec([created]).when(requestCommand()).then(t, [
      { type: 'CommandRequested', data: { thingId, commandId: 'cmd-1', channel: 3, value: 0, seq: 1, requestedAt: at } },
    ])
    const first: ThingEvent = { type: 'CommandRequested', data: { thingId, commandId: 'cmd-0', channel: 1, value: 1, seq: 1, requestedAt: at } }
    spec([created, first]).when(requestCommand()).then(t, [
      { type: 'CommandRequested', data: { thingId, commandId: 'cmd-1', channel: 3, value: 0, seq: 2, requestedAt: at } },
    ])
  })
  t.test("refuses another account's command as not found", async (t) => {
    spec([created]).when(requestCommand('acc-2')).thenThrows(t, NotFoundError)
  })
  t.test('is deactivated', async (t) => {
    spec([created]).when({ type: 'DeactivateThing', data: { thingId, accountId: 'acc-1' } }).then(t, [
      { type: 'ThingDeactivated', data: { thingId, deactivatedAt: at } },
    ])
  })
})

t.test('a thing with a command in flight', async (t) => {
  const requested: ThingEvent = { type: 'CommandRequested', data: { thingId, commandId: 'cmd-1', channel: 3, value: 0, seq: 1, requestedAt: at } }
  const outcome = (seq: number, outcome: 'delivered' | 'acknowledged' | 'failed' | 'timed_out'): ThingCommand => ({
    type: 'RecordCommandOutcome',
    data: { thingId, seq, outcome, reason: null },
  })
  t.test('records its delivery', async (t) => {
    spec([created, requested]).when(outcome(1, 'delivered')).then(t, [{ type: 'CommandDelivered', data: { thingId, seq: 1, at, reason: null } }])
  })
  t.test('ignores a late delivery after the acknowledgement', async (t) => {
    const acked: ThingEvent = { type: 'CommandAcknowledged', data: { thingId, seq: 1, at, reason: null } }
    spec([created, requested, acked]).when(outcome(1, 'delivered')).thenNothingHappened(t)
  })
  t.test('refuses an outcome for an unknown command', async (t) => {
    spec([created, requested]).when(outcome(7, 'failed')).thenThrows(t, NotFoundError)
  })
})

t.test('a deactivated thing', async (t) => {
  const deactivated: ThingEvent = { type: 'ThingDeactivated', data: { thingId, deactivatedAt: at } }
  t.test('deactivating again records nothing', async (t) => {
    spec([created, deactivated]).when({ type: 'DeactivateThing', data: { thingId, accountId: 'acc-1' } }).thenNothingHappened(t)
  })
  t.test('takes no commands', async (t) => {
    spec([created, deactivated]).when(requestCommand()).thenThrows(t, ConflictError)
  })
  t.test('may be set ACTIVE again', async (t) => {
    spec([created, deactivated]).when(update({ status: 'ACTIVE' })).then(t, [
      { type: 'ThingUpdated', data: { thingId, changes: { status: 'ACTIVE' }, updatedAt: at } },
    ])
  })
})

t.test('a paired thing', async (t) => {
  const paired: ThingEvent = { type: 'ThingPaired', data: { ...(pair.data as Extract<ThingCommand, { type: 'PairThing' }>['data']), pairedAt: at } }
  t.test('refuses to be paired again', async (t) => {
    spec([paired]).when(pair).thenThrows(t, ConflictError)
  })
  t.test("belongs to the pairing user's account", async (t) => {
    spec([paired]).when(requestCommand('acc-2')).then(t, [
      { type: 'CommandRequested', data: { thingId, commandId: 'cmd-1', channel: 3, value: 0, seq: 1, requestedAt: at } },
    ])
    spec([paired]).when(requestCommand('acc-maker')).thenThrows(t, NotFoundError)
  })
})

t.test('a blocked thing', async (t) => {
  const blocked: ThingEvent = { type: 'ThingUpdated', data: { thingId, changes: { status: 'BLOCKED' }, updatedAt: at } }
  t.test('takes no commands', async (t) => {
    spec([created, blocked]).when(requestCommand()).thenThrows(t, ConflictError)
  })
  t.test('may be deactivated', async (t) => {
    spec([created, blocked]).when({ type: 'DeactivateThing', data: { thingId, accountId: 'acc-1' } }).then(t, [
      { type: 'ThingDeactivated', data: { thingId, deactivatedAt: at } },
    ])
  })
})
