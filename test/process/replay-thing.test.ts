import t from 'tap'
import { runCli } from '../helpers/process.ts'
import { startTestServer } from '../helpers/server.ts'

t.test('capsicum replay --thing prints the thing\'s history', async (t) => {
  let clock = new Date('2026-06-01T10:00:00.000Z')
  const server = await startTestServer(t, { now: () => clock })
  const env = { DATA_DIR: server.dataDir }
  const maker = server.tokenFor('account-maker')
  const user = server.tokenFor('account-home', { userId: 'user-homer' })
  await server.api('POST', '/v1.1/things/registry/batch', { token: maker, body: { hardware_ids: ['REPLAY-1'] } })
  clock = new Date('2026-06-02T10:00:00.000Z')
  const paired = await server.api<{ id: string }>('POST', '/v1.1/things/pair', { token: user, body: { hardware_id: 'REPLAY-1' } })
  clock = new Date('2026-06-03T10:00:00.000Z')
  await server.api('PUT', `/v1.1/things/${paired.body.id}`, { token: user, body: { name: 'Renamed' } })
  await server.api('POST', `/v1.1/things/${paired.body.id}/cmd`, { token: user, body: { value: 1, channel: 2 } })
  const id = paired.body.id

  const all = await runCli(['replay', '--thing', id], env)
  t.equal(all.code, 0, all.stderr)
  t.match(all.stdout, new RegExp(`^thing ${id}: 4 events`))
  const order = ['DeviceProvisioned', 'ThingPaired', 'ThingUpdated', 'CommandRequested'].map((type) => all.stdout.indexOf(type))
  t.ok(order.every((at, i) => at > 0 && (i === 0 || at > order[i - 1]!)), 'provisioned, paired, updated, commanded, in that order')
  t.match(all.stdout, /by user user-of-account-maker for account account-maker/, 'who provisioned it')
  t.match(all.stdout, /by user user-homer for account account-home/, 'who paired it')

  const window = await runCli(['replay', '--thing', id, '--from', '2026-06-02T00:00:00Z', '--to', '2026-06-02T23:59:59Z'], env)
  t.equal(window.code, 0, window.stderr)
  t.match(window.stdout, /: 1 event\n/)
  t.match(window.stdout, /ThingPaired/)

  const json = await runCli(['replay', '--thing', id, '--json'], env)
  const lines = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as { type: string; actor: { id: string } })
  t.strictSame(lines.map((line) => line.type), ['DeviceProvisioned', 'ThingPaired', 'ThingUpdated', 'CommandRequested'])

  const history = await server.api<{ events: unknown[] }>('GET', `/v1.1/things/${id}/history`, { token: user })
  t.strictSame(lines, history.body.events, 'the CLI prints what the API answers')

  const none = await runCli(['replay', '--thing', '6f1e2a44-6f8e-4c41-9a59-000000000000'], env)
  t.equal(none.code, 1)
  const badTime = await runCli(['replay', '--thing', id, '--from', 'last tuesday'], env)
  t.equal(badTime.code, 64)
  const both = await runCli(['replay', '--thing', id, '--stream', `thing-${id}`], env)
  t.equal(both.code, 64)
})
