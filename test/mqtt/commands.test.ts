/**
 * Commands out: POST /v1.1/things/{id}/cmd → `seq,value` on the device's cmd/{channel}
 * (QoS 1) → delivered; no answer in COMMAND_TIMEOUT_MS → timed out, and a queued copy
 * for an offline device is then never delivered. The clock is injected and advanced.
 */
import t from 'tap'
import { connectDevice, deviceAccount, waitUntil, type DeviceAccount } from '../helpers/mqtt.ts'
import { startTestServer, tempDataDir, type TestServer } from '../helpers/server.ts'

interface CommandView {
  id: string
  seq: number
  channel: number
  value: string | number | boolean
  state: string
  reason: string | null
}

const timeoutMs = 4000

async function commandState(server: TestServer, account: DeviceAccount, index: number, seq: number): Promise<CommandView | undefined> {
  const res = await server.api<CommandView[]>('GET', `/v1.1/things/${account.thingIds[index]}/commands`, { token: account.token })
  return res.body.find((c) => c.seq === seq)
}

function reaches(server: TestServer, account: DeviceAccount, index: number, seq: number, state: string): Promise<CommandView> {
  return waitUntil(async () => {
    const command = await commandState(server, account, index, seq)
    return command?.state === state ? command : undefined
  }, `command ${seq} to be ${state}`)
}

async function send(server: TestServer, account: DeviceAccount, index: number, channel: number, value: unknown): Promise<void> {
  const res = await server.api('POST', `/v1.1/things/${account.thingIds[index]}/cmd`, { token: account.token, body: { channel, value } })
  if (res.status !== 200) throw new Error(`POST cmd answered ${res.status}: ${res.text}`)
}

t.test('commands over MQTT', async (t) => {
  let clock = new Date('2026-07-01T09:00:00.000Z')
  const dataDir = tempDataDir(t)
  const env = { COMMAND_TIMEOUT_MS: String(timeoutMs) }
  const server = await startTestServer(t, { dataDir, env, now: () => clock })
  const url = server.capsicum.mqttUrl!
  const account = await deviceAccount(server, { things: 4 })

  await t.test('an online device gets seq,value on cmd/{channel}; the command is delivered', async (t) => {
    const device = await connectDevice(t, url, account.device(0))
    await device.subscribe(account.topic(0, 'cmd/+'), 1)
    await send(server, account, 0, 3, 1)
    const message = await device.nextMessage((m) => m.topic === account.topic(0, 'cmd/3'), 'the command')
    t.equal(message.text, '1,1')
    t.equal(message.qos, 1, 'sent at QoS 1')
    t.equal(message.retain, false, 'not retained')
    t.match(await reaches(server, account, 0, 1, 'delivered'), { channel: 3, value: 1, reason: null })

    await send(server, account, 0, 4, true)
    t.equal((await device.nextMessage((m) => m.topic === account.topic(0, 'cmd/4'), 'the boolean command')).text, '2,1', 'true is sent as 1')
    await send(server, account, 0, 5, 'on')
    t.equal((await device.nextMessage((m) => m.topic === account.topic(0, 'cmd/5'), 'the text command')).text, '3,on')
  })

  await t.test('a QoS 0 subscription (what the Cayenne libraries use) gets it too', async (t) => {
    const device = await connectDevice(t, url, { ...account.device(1), protocolVersion: 3 })
    await device.subscribe(account.topic(1, 'cmd/+'), 0)
    await send(server, account, 1, 0, 0)
    t.equal((await device.nextMessage((m) => m.topic === account.topic(1, 'cmd/0'), 'the command')).text, '1,0')
    await reaches(server, account, 1, 1, 'delivered')
  })

  await t.test('a persistent session: PUBACK is the delivery; offline, the command waits for the device', async (t) => {
    const first = await connectDevice(t, url, { ...account.device(2), clean: false })
    await first.subscribe(account.topic(2, 'cmd/+'), 1)
    await send(server, account, 2, 1, 10)
    t.equal((await first.nextMessage((m) => m.topic === account.topic(2, 'cmd/1'), 'the online command')).text, '1,10')
    await reaches(server, account, 2, 1, 'delivered')
    await first.end()

    await send(server, account, 2, 2, 20)
    t.equal((await commandState(server, account, 2, 2))?.state, 'requested', 'nobody has it yet')
    const back = await connectDevice(t, url, { ...account.device(2), clean: false })
    t.equal((await back.nextMessage((m) => m.topic === account.topic(2, 'cmd/2'), 'the queued command')).text, '2,20')
    await reaches(server, account, 2, 2, 'delivered')
    await back.end()
  })

  await t.test('no answer within the timeout: timed out; a queued copy is not delivered afterwards', async (t) => {
    await send(server, account, 2, 3, 30)
    clock = new Date(clock.getTime() + timeoutMs + 1)
    t.match(await reaches(server, account, 2, 3, 'timed_out'), { reason: /no answer within 4 s/ })
    t.equal((await reaches(server, account, 2, 2, 'timed_out')).state, 'timed_out', 'a delivered command nobody answered times out too')
    await send(server, account, 2, 4, 40)
    const back = await connectDevice(t, url, { ...account.device(2), clean: false })
    // both were queued in this order: once the fresh one is here, the stale one would have been
    t.equal((await back.nextMessage((m) => m.topic === account.topic(2, 'cmd/4'), 'the fresh command')).text, '4,40')
    t.notOk(back.messages.some((m) => m.topic === account.topic(2, 'cmd/3')), 'the timed-out command never reached the device')
    await reaches(server, account, 2, 4, 'delivered')
  })

  await t.test('the sweeper finds open commands again after a restart', async (t) => {
    await send(server, account, 3, 1, 'x')
    t.equal((await commandState(server, account, 3, 1))?.state, 'requested')
    await server.close()
    clock = new Date(clock.getTime() + timeoutMs + 1)
    const again = await startTestServer(t, { dataDir, env, now: () => clock })
    const res = await waitUntil(async () => {
      const list = await again.api<CommandView[]>('GET', `/v1.1/things/${account.thingIds[3]}/commands`, { token: account.token })
      return list.body.find((c) => c.seq === 1 && c.state === 'timed_out')
    }, 'the command to time out after the restart')
    t.equal(res.state, 'timed_out')
  })
})
