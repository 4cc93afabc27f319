import t from 'tap'
import { ConflictError, ForbiddenError, NotFoundError } from '../../domain/errors.ts'
import {
  genericThingTypeId,
  thingTypeDecider,
  type RegisterThingType,
  type ThingTypeEvent,
} from '../../domain/thing-type/thing-type.ts'
import { given } from '../helpers/decider-spec.ts'

const now = new Date('2026-01-02T03:04:05.000Z')
const typeId = '11111111-1111-4111-8111-111111111111'
const fields = {
  name: 'Arduino',
  description: 'An Arduino board',
  model: 'Uno',
  version: null,
  manufacturer: null,
  transportProtocol: 'mqtt',
  protocolVersion: null,
  category: 'computer',
  subcategory: 'arduino',
  dataType: null,
} as const
const register: RegisterThingType = { type: 'RegisterThingType', data: { typeId, accountId: 'acc-1', ...fields } }
const registered: ThingTypeEvent = {
  type: 'ThingTypeRegistered',
  data: { typeId, accountId: 'acc-1', ...fields, registeredAt: '2026-01-01T00:00:00.000Z' },
}
const spec = given(thingTypeDecider, now)

t.test('an unregistered type', async (t) => {
  t.test('registers with the time of the command', async (t) => {
    spec([]).when(register).then(t, [{ type: 'ThingTypeRegistered', data: { ...register.data, registeredAt: now.toISOString() } }])
  })
  t.test('refuses an update: it does not exist', async (t) => {
    spec([])
      .when({ type: 'UpdateThingType', data: { typeId, accountId: 'acc-1', changes: { name: 'x' } } })
      .thenThrows(t, NotFoundError)
  })
})

t.test('a registered type', async (t) => {
  t.test('registering the same content again is a retry and records nothing', async (t) => {
    spec([registered]).when(register).thenNothingHappened(t)
  })
  t.test('registering other content under the same id is a conflict', async (t) => {
    spec([registered])
      .when({ ...register, data: { ...register.data, name: 'Other' } })
      .thenThrows(t, ConflictError)
  })
  t.test('records only the fields that change', async (t) => {
    spec([registered])
      .when({ type: 'UpdateThingType', data: { typeId, accountId: 'acc-1', changes: { name: 'Arduino', category: 'module' } } })
      .then(t, [{ type: 'ThingTypeUpdated', data: { typeId, changes: { category: 'module' }, updatedAt: now.toISOString() } }])
  })
  t.test('an update that changes nothing records nothing', async (t) => {
    spec([registered])
      .when({ type: 'UpdateThingType', data: { typeId, accountId: 'acc-1', changes: { name: 'Arduino' } } })
      .thenNothingHappened(t)
  })
  t.test("refuses another account's update as not found", async (t) => {
    spec([registered])
      .when({ type: 'UpdateThingType', data: { typeId, accountId: 'acc-2', changes: { name: 'Mine' } } })
      .thenThrows(t, NotFoundError)
  })
})

t.test('a built-in type', async (t) => {
  const builtIn: ThingTypeEvent = {
    type: 'ThingTypeRegistered',
    data: { ...registered.data, typeId: genericThingTypeId, accountId: null } as typeof registered.data,
  }
  t.test('is read-only for every account', async (t) => {
    spec([builtIn])
      .when({ type: 'UpdateThingType', data: { typeId: genericThingTypeId, accountId: 'acc-1', changes: { name: 'Mine' } } })
      .thenThrows(t, ForbiddenError)
  })
})
