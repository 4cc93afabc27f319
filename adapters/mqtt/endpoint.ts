/**
 * Everything the device side of a node runs, assembled for the composition root: the
 * broker and its bridge, the batched telemetry writer, the command timeout sweeper, and
 * what the command reactor needs to publish.
 */
import type { Server as HttpServer } from 'node:http'
import type { Logger } from 'pino'
import type { EventStore } from '../../domain/ports/event-store.ts'
import type { FollowerRegistry } from '../../projections/log-follower.ts'
import type { SecretBox } from '../../domain/ports/secret-box.ts'
import { recordCommandOutcome } from '../../commands/thing/record-command-outcome.ts'
import { mqttClientsProjection } from '../../projections/mqtt-clients.ts'
import { provisionedDevicesProjection } from '../../projections/provisioned-devices.ts'
import type { ReadStore } from '../../domain/ports/read-store.ts'
import { thingCommandsProjection } from '../../projections/thing-commands.ts'
import { thingsProjection } from '../../projections/things.ts'
import { AedesBridge, watchRevocations } from '../../streams/aedes-bridge.ts'
import { createDeviceDirectory } from '../../projections/device-directory.ts'
import { CommandTimeoutSweeper, type DeviceCommandsDeps } from '../../streams/reactors/device-commands.ts'
import { TelemetryWriter } from '../../streams/telemetry-writer.ts'
import type { TelemetryStream } from '../../domain/ports/telemetry-stream.ts'
import type { Config } from '../config.ts'
import { MqttBroker, type MqttLimits } from './broker.ts'
import type { MqttInstruments } from '../metrics.ts'

export interface MqttEndpointDeps {
  readonly config: Config
  readonly logger: Logger
  readonly now: () => Date
  readonly newId: () => string
  readonly eventStore: EventStore
  readonly readStore: ReadStore
  readonly telemetry: TelemetryStream
  readonly secretBox: SecretBox
  /** serve devices; false: only publish commands (cluster mode, a node without the mqtt role) */
  readonly listen: boolean
  /** resolves once the read models include `position` */
  readonly settled: (position: number) => Promise<unknown>
  /** names this installation's keys and channels in Redis */
  readonly redisPrefix?: string
  readonly instruments?: MqttInstruments | undefined
  readonly rateLimits?: MqttLimits | undefined
  /** where the revocation watcher's follower is reported (readiness, metrics) */
  readonly followers?: FollowerRegistry
}

export interface MqttEndpoint {
  readonly port: number | null
  readonly tlsPort: number | null
  /** mqtt://host:port, null when the plain listener is off */
  readonly url: string | null
  readonly broker: MqttBroker
  /** what the command reactor needs */
  readonly deviceCommands: DeviceCommandsDeps
  attachWebSocket(server: HttpServer): void
  close(): Promise<void>
}

export async function startMqttEndpoint(deps: MqttEndpointDeps): Promise<MqttEndpoint> {
  const { config, logger } = deps
  // The read models it reads, declared now: devices may connect before the projector starts.
  for (const p of [mqttClientsProjection, thingsProjection, provisionedDevicesProjection, thingCommandsProjection]) {
    await deps.readStore.ensureCollection({ name: p.collection, indexes: p.indexes })
  }
  const directory = createDeviceDirectory(deps)
  const writer = new TelemetryWriter(deps.telemetry)
  const bridge = new AedesBridge({
    directory,
    write: (record) => writer.write(record),
    backlog: () => writer.backlog,
    now: deps.now,
    logger,
    reportCommand: (report) => recordCommandOutcome(deps, report),
  })
  const redisUrl = config.scaleOut.redisUrl
  const broker = await MqttBroker.start({
    mqtt: config.mqtt,
    bridge,
    logger,
    listen: deps.listen,
    instruments: deps.instruments,
    limits: deps.rateLimits,
    redis: redisUrl ? { url: redisUrl, prefix: deps.redisPrefix ?? 'capsicum' } : undefined,
    ...(deps.listen
      ? { watchRevocations: (revoke) => watchRevocations({ eventStore: deps.eventStore, settled: deps.settled, revoke, logger, followers: deps.followers }) }
      : {}),
  })
  const sweeper = new CommandTimeoutSweeper({ ...deps, timeoutMs: config.mqtt.commandTimeoutMs, logger })
  sweeper.start()

  return {
    port: broker.port,
    tlsPort: broker.tlsPort,
    url: broker.url,
    broker,
    deviceCommands: {
      publisher: broker,
      timeoutMs: config.mqtt.commandTimeoutMs,
      now: deps.now,
      async usernamesFor(thingId) {
        const last = bridge.lastUsernameOf(thingId)
        if (last !== undefined) return [last]
        const thing = await directory.thingById(thingId)
        return thing ? directory.usernamesOfAccount(thing.accountId) : []
      },
    },
    attachWebSocket: (server) => broker.attachWebSocket(server),
    async close() {
      await sweeper.stop()
      await broker.close()
      // the disconnections the close just caused, and any publish still in flight
      await writer.drain()
    },
  }
}
