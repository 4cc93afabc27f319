/**
 * Issue 15, item 1: before anyone logs in, an MQTT connection must not be able to fill the
 * server's memory. The attack run's packets (a CONNECT declaring 256 MB followed by a flood
 * of bytes on 4 sockets, a 20 MB PUBLISH after a good CONNECT, a 60 MB WebSocket frame on
 * `/mqtt`) are sent over TCP, TLS and WebSocket to the server in this process: each socket is
 * closed by the server long before the bytes it declared, the process' RSS stays within
 * 50 MB of its start, and a legitimate device publishes and is acknowledged throughout.
 * The attacker side writes one reused 1 MiB buffer and waits for the socket to drain, so
 * its own memory stays flat.
 */
import { execFileSync } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { connect as connectTcp, type Socket } from 'node:net'
import { join } from 'node:path'
import { connect as connectTls } from 'node:tls'
import mqttPacket from 'mqtt-packet'
import t from 'tap'
import { within } from '../helpers/async.ts'
import { connectDevice, deviceAccount, waitUntil, type DeviceIdentity } from '../helpers/mqtt.ts'
import { startTestServer, tempDataDir } from '../helpers/server.ts'

const MiB = 1024 * 1024
const chunk = Buffer.alloc(MiB)

/** MQTT's variable-length "remaining length" (1-4 bytes, 7 bits each). */
function remainingLength(n: number): Buffer {
  const bytes: number[] = []
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    bytes.push(byte)
  } while (n > 0)
  return Buffer.from(bytes)
}

const fixedHeader = (type: number, declared: number): Buffer => Buffer.concat([Buffer.from([type]), remainingLength(declared)])

/** The start of a masked binary WebSocket frame declaring `length` bytes (mask 0: the payload goes as is). */
function webSocketFrameHeader(length: number): Buffer {
  const header = Buffer.alloc(14)
  header[0] = 0x82
  header[1] = 0x80 | 127
  header.writeBigUInt64BE(BigInt(length), 2)
  return header
}

/** Resolves when the socket is closed (`events.once` would reject on the reset that comes first). */
const closedBy = (socket: Socket): Promise<void> => (socket.destroyed ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve())))

interface Flooded {
  /** bytes written before the server closed the socket (or the limit was reached) */
  readonly sent: number
}

/**
 * Writes `header`, then zeros until `limit` bytes or the socket closes, then waits for the
 * server to close it: we never end it ourselves.
 */
async function flood(socket: Socket, header: Buffer, limit: number, what: string): Promise<Flooded> {
  const closed = closedBy(socket)
  let sent = 0
  socket.write(header)
  while (sent < limit && !socket.destroyed) {
    const more = socket.write(chunk)
    sent += chunk.length
    if (!more) await Promise.race([new Promise((resolve) => socket.once('drain', resolve)), closed])
  }
  await within(closed, `the server to close ${what}`, 15_000)
  return { sent }
}

/** A raw socket, connected (over TLS when `ca` is given), errors ignored (a reset is the expected end). */
async function rawSocket(port: number, ca?: Buffer): Promise<Socket> {
  const socket = ca ? connectTls({ host: '127.0.0.1', port, ca }) : connectTcp({ host: '127.0.0.1', port })
  socket.on('error', () => undefined)
  await once(socket, ca ? 'secureConnect' : 'connect')
  return socket
}

/** A raw socket upgraded to WebSocket at /mqtt, ready for frames. */
async function rawWebSocket(port: number): Promise<Socket> {
  const socket = await rawSocket(port)
  const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64')
  socket.write(
    `GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n`,
  )
  let response = ''
  while (!response.includes('\r\n\r\n')) response += ((await once(socket, 'data')) as [Buffer])[0].toString('latin1')
  if (!response.startsWith('HTTP/1.1 101')) throw new Error(`the upgrade was refused: ${response.split('\r\n')[0]}`)
  return socket
}

/** A raw socket past a CONNECT the broker accepted. */
async function loggedIn(port: number, device: DeviceIdentity): Promise<Socket> {
  const socket = await rawSocket(port)
  socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: device.clientId, username: device.username, password: Buffer.from(device.password) }))
  const [connack] = (await within(once(socket, 'data'), 'the CONNACK', 15_000)) as [Buffer]
  if (connack.toString('hex') !== '20020000') throw new Error(`CONNECT refused: ${connack.toString('hex')}`)
  return socket
}

t.test('oversized packets and unfinished CONNECTs do not fill the memory, and devices keep working', async (t) => {
  const dir = tempDataDir(t)
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' })
  const ca = readFileSync(cert)
  const server = await startTestServer(t, { env: { MQTTS_PORT: '0', MQTT_TLS_CERT_FILE: cert, MQTT_TLS_KEY_FILE: key, MQTT_CONNECT_TIMEOUT_MS: '1000' } })
  const mqttPort = server.capsicum.mqttPort!
  const tlsPort = server.capsicum.mqttTlsPort!
  const httpPort = Number(new URL(server.url).port)
  const alice = await deviceAccount(server, { things: 3 })
  const sockets: Socket[] = []
  t.teardown(() => sockets.forEach((s) => s.destroy()))
  const track = (socket: Socket): Socket => (sockets.push(socket), socket)

  // the legitimate device: QoS 1 readings, one after the other, for the whole test
  const device = await connectDevice(t, server.capsicum.mqttUrl!, alice.device(0))
  let acknowledged = 0
  let failure: unknown
  let running = true
  const publishing = (async () => {
    while (running) {
      try {
        await device.publish(alice.topic(0, 'data/1'), `temp,c=${acknowledged % 40}`, { qos: 1 })
        acknowledged++
      } catch (error) {
        failure = error
        return
      }
    }
  })()
  const keepsPublishing = async (what: string): Promise<void> => {
    const from = acknowledged
    await waitUntil(() => (acknowledged >= from + 10 || failure !== undefined ? true : undefined), `the device's readings to be acknowledged ${what}`, 15_000)
    t.equal(failure, undefined, `the device is still acknowledged ${what}`)
  }
  await keepsPublishing('before the attack')
  const rssAtStart = process.memoryUsage().rss
  let largestRss = rssAtStart
  const sampler = setInterval(() => (largestRss = Math.max(largestRss, process.memoryUsage().rss)), 20)
  t.teardown(() => clearInterval(sampler))

  await t.test('a CONNECT declaring 256 MB, then bytes, on 4 TCP sockets: each closed before 32 MB went in', async (t) => {
    const declared = 268_435_455 // the largest MQTT length
    const results = await Promise.all([0, 1, 2, 3].map(async (i) => flood(track(await rawSocket(mqttPort)), fixedHeader(0x10, declared), 32 * MiB, `CONNECT socket ${i}`)))
    for (const [i, { sent }] of results.entries()) t.ok(sent < 32 * MiB, `socket ${i} was closed after ${(sent / MiB).toFixed(0)} MiB`)
    await keepsPublishing('during the CONNECT flood')
  })

  await t.test('the same over TLS', async (t) => {
    const { sent } = await flood(track(await rawSocket(tlsPort, ca)), fixedHeader(0x10, 268_435_455), 32 * MiB, 'the TLS CONNECT socket')
    t.ok(sent < 32 * MiB, `closed after ${(sent / MiB).toFixed(0)} MiB`)
  })

  await t.test('a 20 MB PUBLISH after a good CONNECT closes that connection', async (t) => {
    const { sent } = await flood(track(await loggedIn(mqttPort, alice.device(1))), fixedHeader(0x30, 20 * 1000 * 1000), 20 * MiB, 'the connection with a 20 MB PUBLISH')
    t.ok(sent < 20 * MiB, `closed after ${(sent / MiB).toFixed(0)} MiB`)
    await keepsPublishing('after the large PUBLISH')
  })

  await t.test('a 60 MB WebSocket frame on /mqtt closes the connection', async (t) => {
    const { sent } = await flood(track(await rawWebSocket(httpPort)), webSocketFrameHeader(60 * MiB), 60 * MiB, 'the WebSocket with a 60 MB frame')
    t.ok(sent < 60 * MiB, `closed after ${(sent / MiB).toFixed(0)} MiB`)
    await keepsPublishing('after the WebSocket frame')
  })

  await t.test('a CONNECT that does not arrive whole within MQTT_CONNECT_TIMEOUT_MS is given up, so is silence, so is a TLS handshake', async (t) => {
    const partial = track(await rawSocket(mqttPort))
    const silent = track(await rawSocket(mqttPort))
    const handshake = track(await rawSocket(tlsPort))
    partial.write(Buffer.concat([fixedHeader(0x10, 100), Buffer.alloc(10)]))
    // the bound is far above the 1 s configured, and below aedes' 30 s and Node's 120 s TLS defaults
    await within(Promise.all([closedBy(partial), closedBy(silent), closedBy(handshake)]), 'the server to give up on the unfinished CONNECTs', 10_000)
    t.pass('all three closed by the server')
  })

  await t.test('the limit is the whole packet: 200 KB readings go through, a 300 KB one closes its connection', async (t) => {
    const other = await connectDevice(t, server.capsicum.mqttUrl!, alice.device(2))
    await other.publish(alice.topic(2, 'data/json'), Buffer.alloc(200 * 1024, 'x'), { qos: 1 })
    t.ok(other.client.connected, 'a 200 KB reading is acknowledged')
    const closed = other.closed('the 300 KB publisher to be disconnected')
    other.client.publish(alice.topic(2, 'data/json'), Buffer.alloc(300 * 1024, 'x'), { qos: 1 }, () => undefined)
    await closed
    t.pass('a 300 KB reading closes the connection')
  })

  await keepsPublishing('after every attack')
  running = false
  await publishing
  clearInterval(sampler)
  const grewBy = (largestRss - rssAtStart) / MiB
  t.comment(`RSS at the start ${(rssAtStart / MiB).toFixed(0)} MiB, largest during the attacks ${(largestRss / MiB).toFixed(0)} MiB (+${grewBy.toFixed(1)} MiB); ${acknowledged} readings acknowledged`)
  t.ok(grewBy < 50, `RSS grew by ${grewBy.toFixed(1)} MiB, less than 50`)
  t.equal(failure, undefined, 'no reading of the device failed')
  t.ok(device.client.connected, 'the device is still connected')
})
