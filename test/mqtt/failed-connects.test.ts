/**
 * Issue 15, item 11 (MQTT side): repeated failed CONNECTs (CONNACK 4) are answered later
 * and later, per client address and per user name; an accepted CONNECT is never slowed by
 * the failures of another address. The policy alone with a fixed clock, then the broker
 * with raw CONNECTs from several loopback addresses (127.0.0.2, 127.0.0.3: all of 127/8
 * is loopback on Linux), reading the delays it logged.
 */
import { Writable } from 'node:stream'
import { connect, type Socket } from 'node:net'
import mqttPacket from 'mqtt-packet'
import { pino } from 'pino'
import t from 'tap'
import { FailedConnects, addressKey, defaultFailedConnectPolicy, forwardedAddress, type FailedConnectPolicy } from '../../adapters/mqtt/failed-connects.ts'
import { within } from '../helpers/async.ts'
import { deviceAccount, waitUntil, type DeviceIdentity } from '../helpers/mqtt.ts'
import { startTestServer } from '../helpers/server.ts'

const policy: FailedConnectPolicy = { ...defaultFailedConnectPolicy, maxDelayMs: 8000 }

function throttle(overrides: Partial<FailedConnectPolicy> = {}): { failed: FailedConnects; advance(ms: number): void } {
  let now = Date.parse('2026-01-01T00:00:00Z')
  return { failed: new FailedConnects({ ...policy, ...overrides }, () => now), advance: (ms) => (now += ms) }
}

t.test('the policy', async (t) => {
  await t.test('a user name gets 5 refusals at once, then 0.5 s doubling up to the cap', async (t) => {
    const { failed } = throttle()
    const delays = Array.from({ length: 11 }, (_, i) => failed.answer(`10.0.0.${i}`, 'alice', true).delayMs)
    t.same(delays, [0, 0, 0, 0, 0, 500, 1000, 2000, 4000, 8000, 8000])
    t.match(failed.answer('10.0.1.1', 'alice', true), { reason: 'username', failures: 11 })
  })

  await t.test('an address gets 10 refusals at once over any user names, then every CONNECT from it waits', async (t) => {
    const { failed } = throttle()
    const delays = Array.from({ length: 12 }, (_, i) => failed.answer('10.0.0.1', `guess-${i}`, true).delayMs)
    t.same(delays, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 500, 1000])
    t.match(failed.answer('10.0.0.1', 'own-account', false), { delayMs: 2000, reason: 'address', failures: 12 }, 'an accepted CONNECT too: a right guess is not answered early')
    t.match(failed.answer('10.0.0.2', 'own-account', false), { delayMs: 0, reason: null }, 'not another address')
  })

  await t.test("an accepted CONNECT is not slowed by another address's guesses at its user name", async (t) => {
    const { failed } = throttle()
    for (let i = 0; i < 8; i++) failed.answer('10.0.0.1', 'alice', true)
    t.equal(failed.answer('10.0.0.9', 'alice', false).delayMs, 0, 'the owner, elsewhere')
    t.equal(failed.answer('10.0.0.1', 'alice', true).delayMs, 0, "and it clears the user name's count")
  })

  await t.test("an accepted CONNECT clears the user name's count, not the address's", async (t) => {
    const { failed } = throttle()
    // the attack run's trick against the login lock: 4 guesses at a victim, a good login of one's own, repeated
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) failed.answer('10.0.0.1', `victim-${round}`, true)
      failed.answer('10.0.0.1', 'attacker', false)
    }
    t.match(failed.answer('10.0.0.1', 'victim-3', true), { delayMs: 2000, reason: 'address', failures: 12 }, 'twelve guesses from the address count, whatever succeeded between them')
  })

  await t.test('counts are forgotten after 15 quiet minutes', async (t) => {
    const { failed, advance } = throttle()
    for (let i = 0; i < 7; i++) failed.answer('10.0.0.1', 'alice', true)
    advance(14 * 60_000)
    t.equal(failed.answer('10.0.0.1', 'alice', true).delayMs, 2000, 'still counted after 14 minutes')
    advance(15 * 60_000)
    t.equal(failed.answer('10.0.0.1', 'alice', true).delayMs, 0, 'forgotten after 15 without a failure')
  })

  await t.test('a cap of 0 turns the delay off', async (t) => {
    const { failed } = throttle({ maxDelayMs: 0 })
    t.same(Array.from({ length: 20 }, () => failed.answer('10.0.0.1', 'alice', true).delayMs), Array(20).fill(0))
  })

  await t.test('it keeps at most maxTracked counts, the oldest go first', async (t) => {
    const { failed } = throttle({ maxTracked: 3, freeFailuresPerUsername: 1, freeFailuresPerAddress: 100 })
    failed.answer('10.0.0.1', 'first', true)
    for (const name of ['a', 'b', 'c']) failed.answer('10.0.0.1', name, true)
    t.equal(failed.answer('10.0.0.1', 'first', true).delayMs, 0, 'the oldest count was dropped')
    t.equal(failed.answer('10.0.0.1', 'c', true).delayMs, 500, 'a recent one is kept')
  })

  await t.test('long user names are counted by their start', async (t) => {
    const { failed } = throttle()
    for (let i = 0; i < 5; i++) failed.answer(`10.0.0.${i}`, `${'x'.repeat(128)}${i}`, true)
    t.equal(failed.answer('10.0.1.1', `${'x'.repeat(128)}other`, true).delayMs, 500)
  })

  await t.test('addresses: IPv4-mapped IPv6 as IPv4, IPv6 by its /64', async (t) => {
    t.equal(addressKey('::ffff:192.0.2.7'), '192.0.2.7')
    t.equal(addressKey('192.0.2.7'), '192.0.2.7')
    t.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64')
    t.equal(addressKey('2001:0db8:0001:0002:ffff:0:0:9'), '2001:db8:1:2::/64', 'the same /64 however written')
    t.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64')
    t.equal(addressKey('::1'), '0:0:0:0::/64')
    t.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64', 'without the zone')
    t.equal(addressKey(undefined), 'unknown')
  })

  await t.test('a WebSocket behind a proxy on loopback counts as the address the proxy forwards (as the HTTP side does)', async (t) => {
    t.equal(forwardedAddress('127.0.0.1', '198.51.100.9'), '198.51.100.9')
    t.equal(forwardedAddress('::1', '203.0.113.1, 198.51.100.9'), '198.51.100.9', 'the nearest hop, which the proxy appended')
    t.equal(forwardedAddress('::ffff:127.0.0.1', ['198.51.100.9', '127.0.0.2']), '198.51.100.9', 'proxies on loopback are skipped')
    t.equal(forwardedAddress('192.0.2.1', '198.51.100.9'), '192.0.2.1', 'not from loopback: the header is anyone\'s')
    t.equal(forwardedAddress('127.0.0.1', undefined), '127.0.0.1')
  })
})

interface DelayLine {
  msg: string
  address?: string
  username?: string
  refused?: boolean
  delayMs?: number
  reason?: string
  failures?: number
}

/** A raw CONNECT from `localAddress`; resolves with the CONNACK return code. */
async function rawConnect(port: number, localAddress: string, device: DeviceIdentity, sockets: Socket[]): Promise<number> {
  const socket = connect({ host: '127.0.0.1', port, localAddress })
  sockets.push(socket)
  socket.on('error', () => undefined)
  socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: device.clientId, username: device.username, password: Buffer.from(device.password) }))
  const connack = await within(new Promise<Buffer>((resolve) => socket.once('data', resolve)), `the CONNACK for ${device.username} from ${localAddress}`, 20_000)
  socket.destroy()
  return connack[3]!
}

t.test('the broker holds the answers to repeated failed CONNECTs', async (t) => {
  const lines: DelayLine[] = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as DelayLine)
      done()
    },
  })
  const server = await startTestServer(t, { logger: pino({ level: 'warn' }, sink) })
  const port = server.capsicum.mqttPort!
  const alice = await deviceAccount(server)
  const mallory = await deviceAccount(server)
  const sockets: Socket[] = []
  t.teardown(() => sockets.forEach((s) => s.destroy()))
  const delays = (address: string): DelayLine[] => lines.filter((l) => l.address === address && l.delayMs !== undefined)

  await t.test("guesses at a user name are slowed; its owner, elsewhere, connects at once and is answered first", async (t) => {
    const wrong = { ...alice.device(0), password: 'not-the-secret' }
    const codes: number[] = []
    for (let i = 0; i < 8; i++) {
      const started = Date.now()
      codes.push(await rawConnect(port, '127.0.0.2', wrong, sockets))
      const logged = delays('127.0.0.2')[i - 5]
      if (logged?.delayMs) t.ok(Date.now() - started >= logged.delayMs - 20, `refusal ${i + 1} took at least its ${logged.delayMs} ms`)
    }
    t.same(codes, Array(8).fill(4), 'every guess refused with CONNACK 4')
    t.match(delays('127.0.0.2'), [
      { refused: true, reason: 'username', username: alice.username, failures: 5, delayMs: 500, msg: /answered after 500 ms: repeated failed CONNECTs from this user name/ },
      { refused: true, reason: 'username', failures: 6, delayMs: 1000 },
      { refused: true, reason: 'username', failures: 7, delayMs: 2000 },
    ], 'the first five at once, then a growing delay, each logged with its reason')
    t.equal(delays('127.0.0.2').length, 3)

    // the ninth guess waits 4 s; the owner, started after it, is answered before it
    const order: string[] = []
    const guess = rawConnect(port, '127.0.0.2', wrong, sockets).then((code) => order.push(`guess ${code}`))
    await waitUntil(() => (delays('127.0.0.2').length === 4 ? true : undefined), 'the ninth guess to be held')
    t.match(delays('127.0.0.2')[3], { delayMs: 4000 })
    const owner = rawConnect(port, '127.0.0.1', alice.device(0), sockets).then((code) => order.push(`owner ${code}`))
    await Promise.all([guess, owner])
    t.same(order, ['owner 0', 'guess 4'])
    t.same(delays('127.0.0.1'), [], "the owner's CONNECT was not held")
  })

  await t.test('many user names from one address: after 10 failures every CONNECT from it waits, a right one too', async (t) => {
    const codes: number[] = []
    for (let i = 0; i < 11; i++) codes.push(await rawConnect(port, '127.0.0.3', { ...alice.device(0), username: crypto.randomUUID() }, sockets))
    t.same(codes, Array(11).fill(4))
    t.match(delays('127.0.0.3'), [{ refused: true, reason: 'address', failures: 10, delayMs: 500, msg: /from this address/ }])
    t.equal(await rawConnect(port, '127.0.0.3', mallory.device(0), sockets), 0, "the attacker's own credentials work")
    t.match(delays('127.0.0.3')[1], { refused: false, reason: 'address', failures: 11, delayMs: 1000 }, 'but wait: a right guess is not told early')
    t.equal(await rawConnect(port, '127.0.0.1', mallory.device(0), sockets), 0)
    t.same(delays('127.0.0.1'), [], 'from another address, at once')
  })
})
