/** The rules read model (definitions and firing state), rebuilt from the log, equals the one built as the events came. */
import t from 'tap'
import { readModelSnapshot, rebuiltSnapshot } from '../helpers/rebuild.ts'
import { ReadingFeed, firedValues, thingsWithIds } from '../helpers/rules.ts'
import { startTestServer } from '../helpers/server.ts'

t.test('rebuilding the rules read model gives what was built incrementally', async (t) => {
  const server = await startTestServer(t, { now: () => new Date('2026-05-01T08:00:00.000Z') })
  const token = server.tokenFor('account-rules')
  await thingsWithIds(server, 'account-rules', ['room-a', 'room-b'])
  const trigger = (id: string) => ({ id, channel: '1', conditions: [{ value: '15', operator: 'gt' }, { value: '30', operator: 'lt' }] })
  const create = async (body: Record<string, unknown>) => (await server.api<{ id: string }>('POST', '/v1.1/rules', { token, body })).body.id
  const single = await create({ title: 'Single', triggers: [trigger('room-a')] })
  const all = await create({ title: 'All', triggers: [trigger('room-a'), trigger('room-b')], triggers_condition: 'all', cooldown_seconds: 30 })
  const renamed = await create({ title: 'Before', triggers: [trigger('room-b')] })
  await server.api('PUT', `/v1.1/rules/${renamed}`, { token, body: { title: 'After', enabled: false } })
  const deleted = await create({ title: 'Gone', triggers: [trigger('room-a')] })
  await server.api('DELETE', `/v1.1/rules/${deleted}`, { token })

  const { eventStore, runner, ruleEngine } = server.capsicum
  await ruleEngine!.catchUp()
  const feed = new ReadingFeed(eventStore)
  const at = (s: number) => new Date(Date.parse('2026-05-01T09:00:00.000Z') + s * 1000).toISOString()
  await ruleEngine!.onReadings(
    await feed.record([
      { thingId: 'room-a', channel: '1', value: 20, at: at(1) },
      { thingId: 'room-b', channel: '1', value: 21, at: at(2) },
      { thingId: 'room-a', channel: '1', value: 40, at: at(3) },
      { thingId: 'room-a', channel: '1', value: 22, at: at(4) },
    ]),
  )
  t.strictSame(await firedValues(eventStore, single), [20, 22])
  t.strictSame(await firedValues(eventStore, all), [21])
  await runner.waitFor((await eventStore.headPosition())!, 5000)

  const incremental = await readModelSnapshot(server.capsicum.readStore, ['rules'])
  t.equal(incremental.rules!.length, 3, 'the deleted rule is gone')
  t.match(incremental.rules!.find((r) => (r as { id: string }).id === single), { armed: false, last_fired_at: at(4) })
  await server.close()

  t.strictSame(await rebuiltSnapshot(t, server.dataDir, ['rules']), incremental)
})
