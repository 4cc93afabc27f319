import t from 'tap'
import jwt from 'jsonwebtoken'
import { tempDataDir } from '../helpers/server.ts'
import { runCli, startServerProcess } from '../helpers/process.ts'

t.test('capsicum token mints a token the server accepts', async (t) => {
  const env = { DATA_DIR: tempDataDir(t) }
  const minted = await runCli(['token', '--account', 'acct-9', '--role', 'admin', '--user', 'user-9'], env)
  t.equal(minted.code, 0, minted.stderr)
  const token = minted.stdout.trim()
  t.match(jwt.decode(token), { account_id: 'acct-9', roles: ['admin'], user_id: 'user-9', iss: 'capsicum' })

  const server = await startServerProcess(env)
  t.teardown(() => server.child.kill('SIGKILL'))
  const res = await fetch(`${server.url}/v1.1/things/types`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(res.status, 200, 'a token minted before the first start works: the key is created once and kept')

  await t.test('rebuild refuses while the server owns DATA_DIR', async (t) => {
    const rebuild = await runCli(['rebuild'], env)
    t.equal(rebuild.code, 1)
    t.match(rebuild.stderr, /in use by process \d+/)
  })

  await t.test('replay prints a stream as a timeline while the server runs', async (t) => {
    const created = await fetch(`${server.url}/v1.1/things/types`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Replayed', description: 'before' }),
    })
    const { id } = (await created.json()) as { id: string }
    await fetch(`${server.url}/v1.1/things/types/${id}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ description: 'after' }),
    })
    const timeline = await runCli(['replay', '--stream', `thingtype-${id}`], env)
    t.equal(timeline.code, 0, timeline.stderr)
    t.match(timeline.stdout, `thingtype-${id}: 2 events`)
    t.match(timeline.stdout, /#0 {2}\S+Z {2}ThingTypeRegistered\n {4}by user user-9 for account acct-9/)
    t.match(timeline.stdout, /#1 {2}\S+Z {2}ThingTypeUpdated/)
    t.match(timeline.stdout, /changes\.description: "after"/)

    const json = await runCli(['replay', '--stream', `thingtype-${id}`, '--json'], env)
    const events = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as { type: string; revision: number })
    t.strictSame(events.map((e) => [e.revision, e.type]), [[0, 'ThingTypeRegistered'], [1, 'ThingTypeUpdated']])

    const none = await runCli(['replay', '--stream', 'thingtype-nothing'], env)
    t.equal(none.code, 1)
    t.match(none.stderr, /has no events/)
  })

  await t.test('rebuild after the server stops reports what it did', async (t) => {
    server.child.kill('SIGTERM')
    await server.exited
    const rebuild = await runCli(['rebuild'], env)
    t.equal(rebuild.code, 0, rebuild.stderr)
    t.match(rebuild.stderr, /Rebuilt \d+ read model\(s\) from \d+ events in [\d.]+ s \(\d+ events\/s\)/)
  })
})

t.test('the CLI refuses bad usage and bad configuration clearly', async (t) => {
  const env = { DATA_DIR: tempDataDir(t) }
  const noAccount = await runCli(['token'], env)
  t.equal(noAccount.code, 64)
  t.match(noAccount.stderr, /--account/)
  const badRole = await runCli(['token', '--account', 'a', '--role', 'root'], env)
  t.equal(badRole.code, 64)
  t.match(badRole.stderr, /Unknown role root/)
  const unknown = await runCli(['frobnicate'], env)
  t.equal(unknown.code, 64)
  t.match(unknown.stderr, /Unknown command "frobnicate"/)
  const help = await runCli(['help'], env)
  t.equal(help.code, 0)
  t.match(help.stdout, /Usage: capsicum/)

  const badPort = await runCli(['start'], { ...env, PORT: 'eighty' })
  t.equal(badPort.code, 78)
  t.match(badPort.stderr, /PORT="eighty" is not valid: expected a port number/)
})
