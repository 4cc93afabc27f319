/**
 * Devices for tests: MQTT credentials and things made over the real HTTP API, real
 * mqtt.js clients against a server's broker, the telemetry stream read back, and the
 * Debian mosquitto clients. Every connection and consumer is closed in `t.teardown`.
 *
 *   const account = await deviceAccount(t, server, { things: 2 })
 *   const device = await connectDevice(t, server.capsicum.mqttUrl!, account.device(0))
 *   await device.subscribe(account.topic(0, 'cmd/+'))
 *   const message = await device.nextMessage((m) => m.topic.endsWith('/cmd/3'), 'the command')
 */
import { spawn } from 'node:child_process'
import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from 'mqtt'
import type { Test } from 'tap'
import { messageOfRecord, type TelemetryMessage } from '../../domain/telemetry/telemetry-message.ts'
import type { TelemetryRecord, TelemetryStream } from '../../domain/ports/telemetry-stream.ts'
import { within } from './async.ts'
import type { TestServer } from './server.ts'

export interface MqttCredentials {
  /** the MQTT username: the id from POST /v1.1/clients */
  readonly username: string
  /** its clear_secret */
  readonly password: string
}

/** What a device puts in CONNECT: username, password, and a thing id as client id. */
export interface DeviceIdentity extends MqttCredentials {
  readonly clientId: string
}

export interface DeviceAccount extends MqttCredentials {
  readonly accountId: string
  /** a bearer token of the account */
  readonly token: string
  readonly thingIds: string[]
  /** the identity of thing `index` */
  device(index: number): DeviceIdentity
  /** `v1/{username}/things/{thingId}/{suffix}` for thing `index` */
  topic(index: number, suffix: string): string
}

/** POST /v1.1/clients: the account's MQTT credentials. */
export async function mqttCredentials(server: TestServer, token: string): Promise<MqttCredentials> {
  const res = await server.api<{ id: string; clear_secret: string }>('POST', '/v1.1/clients', { token })
  if (res.status !== 200 && res.status !== 201) throw new Error(`POST /v1.1/clients answered ${res.status}: ${res.text}`)
  return { username: res.body.id, password: res.body.clear_secret }
}

/** POST /v1.1/things; resolves with the new thing's id. */
export async function createThing(server: TestServer, token: string, body: Record<string, unknown> = {}): Promise<string> {
  const res = await server.api<{ id: string }>('POST', '/v1.1/things', { token, body: { name: 'Test device', ...body } })
  if (res.status !== 201) throw new Error(`POST /v1.1/things answered ${res.status}: ${res.text}`)
  return res.body.id
}

/** A fresh account with MQTT credentials and `things` things. */
export async function deviceAccount(server: TestServer, options: { things?: number; accountId?: string } = {}): Promise<DeviceAccount> {
  const accountId = options.accountId ?? `account-${crypto.randomUUID().slice(0, 8)}`
  const token = server.tokenFor(accountId)
  const credentials = await mqttCredentials(server, token)
  const thingIds: string[] = []
  for (let i = 0; i < (options.things ?? 1); i++) thingIds.push(await createThing(server, token, { name: `Device ${i}` }))
  const thingOf = (index: number): string => {
    const id = thingIds[index]
    if (id === undefined) throw new RangeError(`the account has no thing ${index}`)
    return id
  }
  return {
    accountId,
    token,
    ...credentials,
    thingIds,
    device: (index) => ({ ...credentials, clientId: thingOf(index) }),
    topic: (index, suffix) => `v1/${credentials.username}/things/${thingOf(index)}/${suffix}`,
  }
}

export interface ReceivedMessage {
  readonly topic: string
  readonly payload: Buffer
  readonly text: string
  readonly qos: number
  readonly retain: boolean
}

/** An mqtt.js client that keeps every message it receives, so a test can wait for one. */
export class TestDevice {
  readonly messages: ReceivedMessage[] = []
  private readonly waiters = new Set<() => void>()

  constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, payload, text: payload.toString('utf8'), qos: packet.qos, retain: packet.retain })
      for (const wake of this.waiters) wake()
    })
    client.on('close', () => {
      for (const wake of this.waiters) wake()
    })
  }

  /** Resolves with the first message (already received or to come) that matches. */
  nextMessage(match: (message: ReceivedMessage) => boolean, what: string, timeoutMs = 10_000): Promise<ReceivedMessage> {
    const found = this.messages.find(match)
    if (found) return Promise.resolve(found)
    return within(
      new Promise<ReceivedMessage>((resolve) => {
        const wake = (): void => {
          const message = this.messages.find(match)
          if (message) {
            this.waiters.delete(wake)
            resolve(message)
          }
        }
        this.waiters.add(wake)
      }),
      what,
      timeoutMs,
    )
  }

  /** Resolves with the granted QoS of each filter (128 = refused). */
  async subscribe(filters: string | string[], qos: 0 | 1 = 0): Promise<number[]> {
    try {
      const granted = await this.client.subscribeAsync(filters, { qos })
      return granted.map((g) => g.qos)
    } catch (error) {
      // mqtt.js 5 rejects a SUBACK with a refusal; the codes are on the packet
      const granted = (error as { packet?: { granted?: number[] } }).packet?.granted
      if (granted) return granted
      throw error
    }
  }

  /** Resolves once sent (QoS 0) or acknowledged (QoS 1). */
  async publish(topic: string, payload: string | Buffer, options: IClientPublishOptions = {}): Promise<void> {
    await this.client.publishAsync(topic, payload, options)
  }

  /** Resolves once the broker closed the connection (e.g. after a refused publish). */
  closed(what: string, timeoutMs = 10_000): Promise<void> {
    if (!this.client.connected) return Promise.resolve()
    return within(new Promise<void>((resolve) => this.client.once('close', () => resolve())), what, timeoutMs)
  }

  async end(force = false): Promise<void> {
    await this.client.endAsync(force)
  }
}

export type DeviceOptions = DeviceIdentity & {
  /** 3 = MQTT 3.1 (MQIsdp, the C libraries), 4 = MQTT 3.1.1 (default) */
  readonly protocolVersion?: 3 | 4
  /** false: a persistent session */
  readonly clean?: boolean
} & Omit<IClientOptions, 'clientId' | 'username' | 'password' | 'protocolVersion' | 'clean'>

function clientOptions(options: DeviceOptions): IClientOptions {
  const { protocolVersion, clean, ...rest } = options
  return { reconnectPeriod: 0, connectTimeout: 10_000, protocolVersion: protocolVersion ?? 4, clean: clean ?? true, ...rest }
}

/**
 * Connects a device (`mqtt://`, `ws://.../mqtt`, `mqtts://`); rejects when the broker
 * refuses it, with the CONNACK code as the error's `code`.
 */
export async function connectDevice(t: Test, url: string, options: DeviceOptions): Promise<TestDevice> {
  const client = mqtt.connect(url, clientOptions(options))
  t.teardown(() => client.endAsync(true))
  await within(
    new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve())
      client.once('error', reject)
    }),
    `device ${options.clientId} to connect`,
    15_000,
  )
  return new TestDevice(client)
}

/** The CONNACK return code a broker answers to these credentials: 0 accepted, 4 bad credentials, 5 not authorized. */
export async function connackCode(url: string, options: DeviceOptions): Promise<number> {
  const client = mqtt.connect(url, clientOptions(options))
  try {
    return await within(
      new Promise<number>((resolve, reject) => {
        client.once('connect', (packet) => resolve(packet.returnCode ?? 0))
        client.once('error', (error) => {
          const code = (error as { code?: unknown }).code
          if (typeof code === 'number') resolve(code)
          else reject(error)
        })
      }),
      `CONNACK for ${options.clientId}`,
      15_000,
    )
  } finally {
    await client.endAsync(true)
  }
}

/**
 * Reads the telemetry stream back as messages, through a consumer group of its own
 * (so it does not disturb the server's processor).
 */
export class TelemetryWatcher {
  readonly records: TelemetryRecord[] = []
  private readonly waiters = new Set<() => void>()

  constructor(t: Test, telemetry: TelemetryStream) {
    const consumer = telemetry.consume({ groupId: `test-${crypto.randomUUID()}` }, async (batch) => {
      this.records.push(...batch.records)
      for (const wake of this.waiters) wake()
    })
    t.teardown(() => consumer.stop())
  }

  get messages(): TelemetryMessage[] {
    return this.records.map((r) => messageOfRecord(r)!)
  }

  /** Resolves with the first record whose message matches. */
  next(match: (message: TelemetryMessage, record: TelemetryRecord) => boolean, what: string, timeoutMs = 10_000): Promise<{ message: TelemetryMessage; record: TelemetryRecord }> {
    const find = () => {
      for (const record of this.records) {
        const message = messageOfRecord(record)!
        if (match(message, record)) return { message, record }
      }
      return undefined
    }
    const found = find()
    if (found) return Promise.resolve(found)
    return within(
      new Promise((resolve) => {
        const wake = (): void => {
          const hit = find()
          if (hit) {
            this.waiters.delete(wake)
            resolve(hit)
          }
        }
        this.waiters.add(wake)
      }),
      what,
      timeoutMs,
    )
  }
}

/** Polls `check` until it returns something other than undefined (a safety net, not a timing assumption). */
export async function waitUntil<T>(check: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** host and port of an mqtt:// URL, for the mosquitto clients */
export function hostAndPort(url: string): { host: string; port: string } {
  const parsed = new URL(url)
  return { host: parsed.hostname, port: parsed.port }
}

/**
 * Runs `mosquitto_pub` / `mosquitto_sub` (Debian mosquitto-clients) to completion, e.g.
 * `mosquitto('mosquitto_pub', ['-V', 'mqttv31', '-p', port, ...])`. Give mosquitto_sub
 * `-C count` and `-W seconds` so it ends by itself.
 */
export function mosquitto(
  command: 'mosquitto_pub' | 'mosquitto_sub',
  args: readonly string[],
  options: { onStdout?: (text: string) => void } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
    options.onStdout?.(stdout)
  })
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}
