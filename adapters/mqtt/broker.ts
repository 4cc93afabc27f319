/**
 * The MQTT endpoint: aedes 1.x in process, wired to the Aedes bridge. Plain TCP, TLS when
 * a certificate is configured, and WebSocket at `/mqtt` on the HTTP server. With Redis
 * (cluster mode) sessions, retained messages and the fan-out between nodes live there.
 *
 * Some aedes details matter here:
 * - `authorizePublish` holds a QoS 1 publish until its record is durable: aedes writes
 *   the PUBACK only after the callback. A QoS 0 publish is routed at once (its record
 *   follows), unless the stream falls behind; held, aedes would drop it if the publisher
 *   disconnected. The emitter has no limit on deliveries at once (`unlimitedDeliveries`):
 *   with aedes' default of 100, releasing a thousand held publishes at once also
 *   overflowed the stack inside mqemitter.
 * - aedes drops a message for a subscriber when a later-numbered one reached it first
 *   (its per-client "dedupe" keeps only the highest packet number per broker), and a
 *   retained or QoS 1 publish is emitted after a QoS 0 one that followed it, so a device
 *   sending retained data then a command lost the data (moscajs/aedes#955, #994). We turn
 *   that check off per client and drop only true duplicates (one packet matched by two
 *   overlapping subscriptions) in `authorizeForward`.
 * - A refused publish closes the connection: MQTT 3.1.1 (3.3.5) lets a server either
 *   acknowledge and drop, or disconnect; aedes does the latter for an error, and a device
 *   writing outside its topics is misconfigured or hostile.
 * - Before anyone logs in, a connection costs little: a packet declaring more than
 *   `MQTT_MAX_PACKET_SIZE` closes it before its body is read (WebSocket frames too), a
 *   CONNECT must arrive whole within `MQTT_CONNECT_TIMEOUT_MS`, and repeated failed
 *   CONNECTs are answered later and later (failed-connects.ts).
 *
 * What reaches inside aedes is in aedes-internals.ts.
 */
// first: mqtt-packet's loggers must be made quiet before aedes loads it
import './quiet-debug.ts'
import { readFileSync } from 'node:fs'
import type { IncomingMessage, Server as HttpServer } from 'node:http'
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net'
import { createServer as createTlsServer } from 'node:tls'
import type { Duplex } from 'node:stream'
import { Aedes, type AedesOptions, type Client, type PublishPacket } from 'aedes'
import type { Logger } from 'pino'
import { WebSocketServer, createWebSocketStream } from 'ws'
import type { Subscription } from '../../domain/ports/event-store.ts'
import type { AedesBridge, DeviceSession, Revocation } from '../../streams/aedes-bridge.ts'
import type { CommandPublisher } from '../../streams/reactors/device-commands.ts'
import type { DevicePublisher } from '../../domain/ports/device-publisher.ts'
import type { Config } from '../config.ts'
import { parseTopic, type CayenneTopic } from '../../domain/cayenne/topics.ts'
import type { MqttInstruments } from '../metrics.ts'
import { PacketTooLarge, assertAedesInternals, connectedClients, limitPacketSize, subscriptionsOf, turnOffDedupe, unlimitedDeliveries } from './aedes-internals.ts'
import { batchQoS0Deliveries } from './batched-delivery.ts'
import { parsePublishesDirectly } from './publish-parser.ts'
import { FailedConnects, addressKey, defaultFailedConnectPolicy, forwardedAddress } from './failed-connects.ts'
import { openRedisCluster, type RedisCluster } from './redis.ts'

export interface MqttBrokerOptions {
  readonly mqtt: Config['mqtt']
  readonly bridge: AedesBridge
  readonly logger: Logger
  /** cluster mode: sessions, retained messages and fan-out in Redis */
  readonly redis?: { readonly url: string; readonly prefix: string } | undefined
  /**
   * false: a broker that only publishes (commands from a node without the mqtt role, in
   * cluster mode); no listener, no device connects to it
   */
  readonly listen: boolean
  /** ends live connections whose credentials or thing were revoked */
  readonly watchRevocations?: (revoke: (revocation: Revocation) => void) => Promise<Subscription>
  /** connections, refused CONNECTs and publishes, for the metrics */
  readonly instruments?: MqttInstruments | undefined
  readonly limits?: MqttLimits | undefined
}

/** The rate limits' hooks (adapters/rate-limits.ts): CONNECT attempts, and publishes that may slow a connection down. */
export interface MqttLimits {
  /** the reason a CONNECT is refused with CONNACK 3; undefined: it may go on */
  admitConnect(address: string, username: string | undefined): Promise<string | undefined>
  /** counts a publish; over a limit, pauses the connection (aedes stops reading it) for a while */
  published(client: { pause(): void; resume(): void }, accountId: string, bytes: number): void
}

/** Why a CONNECT was refused, by its CONNACK code, for the metrics. */
const refusalReasons: Record<number, string> = { 2: 'identifier_rejected', 3: 'server_unavailable', 4: 'bad_credentials', 5: 'not_authorized' }


/** How many packet numbers per connection are remembered to recognise a duplicate. */
const recentPackets = 1024

/**
 * False for a packet this connection was already handed (two overlapping subscriptions).
 * A packet of this broker is known by its counter, one of another broker of the cluster
 * by both (no key text built for the common case).
 */
function firstDelivery(
  recent: WeakMap<Client, Set<number | string>>,
  brokerId: string,
  client: Client,
  packet: { brokerId?: string; brokerCounter?: number },
): boolean {
  if (!packet.brokerId || packet.brokerCounter === undefined) return true
  const key = packet.brokerId === brokerId ? packet.brokerCounter : `${packet.brokerId}:${packet.brokerCounter}`
  let seen = recent.get(client)
  if (seen === undefined) recent.set(client, (seen = new Set()))
  if (seen.has(key)) return false
  seen.add(key)
  if (seen.size > recentPackets) seen.delete(seen.values().next().value!)
  return true
}

/** MQTT filter matching (`+` one level, `#` the rest), for the few checks aedes does not expose. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/')
  const t = topic.split('/')
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true
    if (i >= t.length) return false
    if (f[i] !== '+' && f[i] !== t[i]) return false
  }
  return f.length === t.length
}

type CommandCarrier = { readonly messageExpiry?: unknown }

const expiryOf = (packet: object): number | undefined => {
  const expiry = (packet as CommandCarrier).messageExpiry
  return typeof expiry === 'number' ? expiry : undefined
}

export class MqttBroker implements DevicePublisher, CommandPublisher {
  private readonly listeners: NetServer[] = []
  private webSockets: { server: HttpServer; wss: WebSocketServer; onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void } | undefined
  private revocations: Subscription | undefined
  port: number | null = null
  tlsPort: number | null = null

  private constructor(
    private readonly aedes: Aedes,
    private readonly sessions: WeakMap<Client, DeviceSession>,
    private readonly addresses: WeakMap<Client, string>,
    private readonly options: MqttBrokerOptions,
    private readonly cluster: RedisCluster | undefined,
  ) {}

  static async start(options: MqttBrokerOptions): Promise<MqttBroker> {
    const { bridge, logger, instruments, limits } = options
    assertAedesInternals()
    const sessions = new WeakMap<Client, DeviceSession>()
    /**
     * per session, the topic it last published to, allowed, and parsed: a device publishes to
     * a few topics over and over, and checking and splitting the topic cost about 1 µs a publish
     */
    const lastTopics = new WeakMap<DeviceSession, { readonly topic: string; readonly parsed: CayenneTopic | null }>()
    /** each connection's client address (addressKey), for the failed-CONNECT delay */
    const addresses = new WeakMap<Client, string>()
    const failedConnects = new FailedConnects({ ...defaultFailedConnectPolicy, maxDelayMs: options.mqtt.failedConnectDelayMaxMs }, Date.now)
    const recent = new WeakMap<Client, Set<number | string>>()
    const cluster = options.redis ? await openRedisCluster(options.redis.url, options.redis.prefix) : undefined
    function recordRefused(error: unknown, session: DeviceSession, topic: string): void {
      logger.error({ err: error, clientId: session.clientId, topic }, 'telemetry stream refused a record')
    }

    const handlers: AedesOptions = {
      // thing ids are UUIDs: longer than MQTT 3.1's 23 characters, which aedes enforces by default
      maxClientsIdLength: 128,
      concurrency: unlimitedDeliveries,
      connectTimeout: options.mqtt.connectTimeoutMs,
      authenticate(client, username, password, done) {
        const admitted = limits ? limits.admitConnect(addresses.get(client) ?? 'unknown', username) : Promise.resolve(undefined)
        admitted.then(async (tooMany) => {
          if (tooMany === undefined) return bridge.authenticate(client.id, username, password)
          logger.warn({ clientId: client.id, username, reason: tooMany }, 'MQTT connection refused: rate limit')
          return { ok: false as const, code: 3 as const, reason: tooMany, limited: true }
        }).then(
          (answer) => {
            const reply = (): void => {
              if (answer.ok) {
                sessions.set(client, answer.session)
                turnOffDedupe(client)
                done(null, true)
              } else {
                instruments?.connectRefused('limited' in answer ? 'rate_limited' : (refusalReasons[answer.code] ?? String(answer.code)))
                done(Object.assign(new Error(answer.reason), { returnCode: answer.code }), false)
              }
            }
            // the one place a CONNECT's answer is held back; aedes reads nothing from the connection meanwhile
            const address = addresses.get(client) ?? 'unknown'
            const refused = !answer.ok && answer.code === 4
            const delay = failedConnects.answer(address, username ?? '', refused)
            if (delay.delayMs === 0) return reply()
            logger.warn(
              { clientId: client.id, address, username: username?.slice(0, 128), refused, delayMs: delay.delayMs, reason: delay.reason, failures: delay.failures },
              `MQTT CONNECT answered after ${delay.delayMs} ms: repeated failed CONNECTs from this ${delay.reason === 'address' ? 'address' : 'user name'}`,
            )
            setTimeout(reply, delay.delayMs).unref()
          },
          (error: unknown) => {
            instruments?.connectRefused('server_unavailable')
            logger.error({ err: error, clientId: client.id }, 'MQTT authentication failed: server unavailable')
            done(Object.assign(new Error('server unavailable'), { returnCode: 3 }), false)
          },
        )
      },
      authorizeSubscribe(client, subscription, done) {
        const session = sessions.get(client)
        done(null, session && bridge.maySubscribe(session, subscription.topic) ? subscription : null)
      },
      authorizePublish(client, packet, done) {
        const session = client ? sessions.get(client) : undefined
        if (!session) return done(new Error('no session'))
        let last = lastTopics.get(session)
        if (last === undefined || last.topic !== packet.topic) {
          if (!bridge.mayPublish(session, packet.topic)) return done(new Error(`not authorized to publish to ${packet.topic}`))
          lastTopics.set(session, (last = { topic: packet.topic, parsed: parseTopic(packet.topic) }))
        }
        const { topic, parsed } = last
        instruments?.published(parsed?.kind ?? 'other', packet.qos)
        limits?.published(client as unknown as { pause(): void; resume(): void }, session.accountId, (packet.payload as Buffer).length)
        // The remembered text of the topic, not the packet's copy: the records and events kept
        // in memory for their readers then share one string a topic instead of one a reading.
        // Arrows passed straight on, not named consts: tsx names every named closure with a
        // call of Object.defineProperty, which a publish paid (1.8% of the server's CPU).
        const recorded = bridge.publish(session, topic, packet.payload as Buffer, parsed)
        if (bridge.mayRouteAtOnce(packet.qos)) {
          recorded.catch((error: unknown) => recordRefused(error, session, topic))
          return done(null)
        }
        recorded.then(
          () => done(null),
          (error: unknown) => {
            recordRefused(error, session, topic)
            // no PUBACK: the device sends it again
            done(error instanceof Error ? error : new Error(String(error)))
          },
        )
      },
      authorizeForward(client, packet) {
        if (!firstDelivery(recent, aedes.id, client, packet)) return null
        const expiresAt = expiryOf(packet)
        const session = sessions.get(client)
        if (expiresAt === undefined || session === undefined) return packet
        const awaitsAck =
          !client.clean &&
          packet.qos > 0 &&
          Object.entries(subscriptionsOf(client)).some(([filter, s]) => s.qos > 0 && topicMatches(filter, packet.topic))
        return bridge.forwardCommand(session, { topic: packet.topic, payload: packet.payload as Buffer, expiresAt }, awaitsAck) ? packet : null
      },
    }
    const aedes = await Aedes.createBroker({
      ...handlers,
      ...(cluster ? { mq: cluster.mq, persistence: cluster.persistence } : {}),
    })
    const broker = new MqttBroker(aedes, sessions, addresses, options, cluster)

    aedes.on('client', (client) => {
      instruments?.connectionOpened()
      const session = sessions.get(client)
      if (session) bridge.connected(session).catch((error: unknown) => logger.warn({ err: error, clientId: client.id }, 'could not record a connection'))
    })
    aedes.on('clientDisconnect', (client) => {
      instruments?.connectionClosed()
      const session = sessions.get(client)
      if (session) bridge.disconnected(session).catch((error: unknown) => logger.warn({ err: error, clientId: client.id }, 'could not record a disconnection'))
    })
    aedes.on('ack', (packet, client) => {
      const session = client ? sessions.get(client) : undefined
      const expiresAt = packet && packet.cmd === 'publish' ? expiryOf(packet) : undefined
      if (session && expiresAt !== undefined) {
        const p = packet as PublishPacket
        bridge.commandAcknowledged(session, { topic: p.topic, payload: p.payload as Buffer, expiresAt })
      }
    })
    const connectionFailed = (client: Client, error: Error): void => {
      if (error instanceof PacketTooLarge) {
        const { cmd, declaredBytes, maxBytes } = error
        logger.warn({ clientId: client.id ?? undefined, address: addresses.get(client), cmd, declaredBytes, maxBytes }, 'MQTT connection closed: a packet over MQTT_MAX_PACKET_SIZE')
      } else logger.debug({ clientId: client.id ?? undefined, err: error }, client.id ? 'MQTT client error' : 'MQTT connection error')
    }
    aedes.on('clientError', connectionFailed)
    aedes.on('connectionError', connectionFailed)

    try {
      if (options.listen) await broker.listen()
      if (options.watchRevocations) broker.revocations = await options.watchRevocations((revocation) => broker.revoke(revocation))
    } catch (error) {
      await broker.close()
      throw error
    }
    return broker
  }

  /** mqtt://host:port of the plain listener; null when it is off. */
  get url(): string | null {
    if (this.port === null) return null
    const host = this.options.mqtt.host === '0.0.0.0' || this.options.mqtt.host === '::' ? '127.0.0.1' : this.options.mqtt.host
    return `mqtt://${host.includes(':') ? `[${host}]` : host}:${this.port}`
  }

  /** Serves MQTT over WebSocket at `/mqtt` on the HTTP server; other upgrade requests are refused. */
  attachWebSocket(server: HttpServer): void {
    // ws reads a frame's declared length first and closes (1009) over the limit, before buffering it
    const wss = new WebSocketServer({ noServer: true, maxPayload: this.options.mqtt.maxPacketBytes })
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      const path = (req.url ?? '').split('?')[0]
      if (path !== '/mqtt' || this.aedes.closed) {
        socket.destroy()
        return
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        this.accept(createWebSocketStream(ws), forwardedAddress(req.socket.remoteAddress, req.headers['x-forwarded-for']), req)
      })
    }
    server.on('upgrade', onUpgrade)
    this.webSockets = { server, wss, onUpgrade }
  }

  publish(topic: string, payload: string, options: { readonly qos: 0 | 1; readonly retain: boolean; readonly expiresAt?: number }): Promise<void> {
    const packet = {
      cmd: 'publish',
      topic,
      payload: Buffer.from(payload, 'utf8'),
      qos: options.qos,
      retain: options.retain,
      dup: false,
      // aedes-packet keeps `messageExpiry` through persistence and delivery; aedes 1.2 does
      // not act on it for MQTT 3.1.1, so authorizeForward does
      ...(options.expiresAt === undefined ? {} : { messageExpiry: options.expiresAt }),
    } as PublishPacket
    return new Promise((resolve, reject) => this.aedes.publish(packet, (error) => (error ? reject(error) : resolve())))
  }

  private async listen(): Promise<void> {
    const { mqtt } = this.options
    const handle = (socket: Socket): void => {
      this.accept(socket, socket.remoteAddress)
    }
    if (mqtt.port !== null) this.port = await this.listenOn(createNetServer(handle), mqtt.port)
    if (mqtt.tlsCertFile && mqtt.tlsKeyFile) {
      // a handshake that does not finish is given up as soon as an unfinished CONNECT (Node's default:
      // 120 s); Node 20 only reports the timeout, the socket is closed here
      const tls = createTlsServer({ cert: readFileSync(mqtt.tlsCertFile), key: readFileSync(mqtt.tlsKeyFile), minVersion: 'TLSv1.2', handshakeTimeout: mqtt.connectTimeoutMs }, handle)
      tls.on('tlsClientError', (error, socket) => {
        this.options.logger.debug({ err: error, address: socket.remoteAddress }, 'MQTT TLS handshake failed')
        socket.destroy()
      })
      this.tlsPort = await this.listenOn(tls, mqtt.tlsPort)
    }
  }

  private accept(stream: Duplex, remoteAddress: string | undefined, req?: IncomingMessage): void {
    const client = this.aedes.handle(stream, req)
    this.addresses.set(client, addressKey(remoteAddress))
    limitPacketSize(client, this.options.mqtt.maxPacketBytes)
    parsePublishesDirectly(client, this.options.mqtt.maxPacketBytes)
    batchQoS0Deliveries(this.aedes, client)
  }

  private listenOn(server: NetServer, port: number): Promise<number> {
    this.listeners.push(server)
    return new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, this.options.mqtt.host, () => {
        server.off('error', reject)
        resolve((server.address() as AddressInfo).port)
      })
    })
  }

  private revoke(revocation: Revocation): void {
    for (const client of connectedClients(this.aedes)) {
      const session = this.sessions.get(client)
      const match = 'username' in revocation ? session?.username === revocation.username : client.id === revocation.thingId
      if (!match) continue
      this.options.logger.info({ clientId: client.id, ...revocation }, 'MQTT connection closed: its credentials or thing were revoked')
      client.close()
    }
  }

  /** Stops listening, disconnects every device (their disconnections are recorded), closes Redis. */
  async close(): Promise<void> {
    const closed = this.listeners.map((server) => new Promise<void>((resolve) => server.close(() => resolve())))
    this.webSockets?.server.off('upgrade', this.webSockets.onUpgrade)
    await this.revocations?.stop()
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()))
    if (this.webSockets) {
      for (const ws of this.webSockets.wss.clients) ws.terminate()
      this.webSockets.wss.close()
    }
    await Promise.all(closed)
    await this.cluster?.close()
  }
}
