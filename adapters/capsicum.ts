/**
 * The composition root: reads nothing from the environment itself (it is handed a
 * Config), picks the adapters, checks they work, wires the core to them and starts
 * listening. `close` is the graceful shutdown: stop accepting, let requests in flight
 * finish, stop the projector, flush the stores, release the data directory.
 */
import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import { platformRoutes, seedBuiltIns } from '../commands/index.ts'
import { createHttpApp } from '../commands/http/app.ts'
import { bearerAuthentication } from '../commands/http/auth.ts'
import { OpenApiDocument } from '../commands/http/openapi.ts'
import type { RouteDeps } from '../commands/route-deps.ts'
import { allProjections } from '../projections/index.ts'
import { ProjectionRunner } from '../projections/runner.ts'
import { ConfigError, type Config } from './config.ts'
import type { EventStore } from '../commands/event-store.ts'
import type { ReadStore } from '../projections/read-store.ts'
import type { TelemetryStream } from '../streams/telemetry-stream.ts'
import type { LeaderElection } from './lease/election.ts'
import { elect, needsLease, nodeRoles, openLeases, openStores, waitForCheckpoints, type Leases, type NodeRole } from './scale-out.ts'
import { SqliteEventStore } from './eventstore/sqlite.ts'
import { createLogger, withSecretsKeptOut } from './logger.ts'
import { SqliteReadStore } from './readstore/sqlite.ts'
import { openDatabase } from './sqlite/database.ts'
import { lockDataDir } from './sqlite/lock.ts'
import { SqliteTelemetryStream } from './stream/sqlite.ts'
import { TokenService } from './tokens.ts'
import { AesGcmSecretBox } from './secret-box.ts'
import { NodeSecrets } from './secrets.ts'
import { createMailer } from './mail.ts'
import { allReactors } from '../streams/reactors/index.ts'
import { ReactorRunner } from '../streams/reactors/reactor-runner.ts'
import { startMqttEndpoint, type MqttEndpoint } from './mqtt/endpoint.ts'
import { DeliveryWorker } from '../streams/reactors/delivery-worker.ts'
import { RetryScheduler } from '../streams/reactors/retry-scheduler.ts'
import { JobScheduler } from '../streams/scheduler.ts'
import { createHttpPusher } from './http-push.ts'
import { createSmsSender } from './sms.ts'
import type { ReadingHook } from '../streams/reading-hook.ts'
import { TelemetryProcessor } from '../streams/telemetry-processor.ts'
import { RuleEngine } from '../streams/rules/rule-engine.ts'
import { ReadingHistoryProjector } from '../projections/reading-history.ts'

export interface CapsicumOptions {
  readonly logger?: Logger
  /** the clock; tests fix it */
  readonly now?: () => Date
  /** what this node runs (`capsicum start --role ...`); all of them by default */
  readonly roles?: readonly NodeRole[]
  /** what sees every batch of readings once the telemetry processor recorded it (the rules core) */
  readonly hooks?: readonly ReadingHook[]
}

export interface Capsicum {
  readonly url: string
  readonly port: number
  /** the plain MQTT listener's port and mqtt:// URL; null when this node has none */
  readonly mqttPort: number | null
  readonly mqttUrl: string | null
  /** the MQTT TLS listener's port; null when no certificate is configured */
  readonly mqttTlsPort: number | null
  readonly logger: Logger
  readonly tokens: TokenService
  readonly eventStore: EventStore
  readonly readStore: ReadStore
  readonly telemetry: TelemetryStream
  readonly runner: ProjectionRunner
  /** the points behind GET /v1.1/things/{id}/data/{channel} */
  readonly readingHistory: ReadingHistoryProjector
  /** on nodes with the processor role */
  readonly processor: TelemetryProcessor | undefined
  /** the rules core, on nodes with the processor role; `catchUp()` waits until it knows every rule written so far */
  readonly ruleEngine: RuleEngine | undefined
  readonly roles: readonly NodeRole[]
  readonly server: Server
  close(): Promise<void>
}

export const apiDescription = {
  title: 'Capsicum',
  version: '1.0',
  description: 'The Cayenne Cloud API, served by Capsicum. Use a bearer token (`npx capsicum token`).',
}

/** Opens the embedded engine's stores on DATA_DIR (shared by the server and the CLI). */
export function openEmbeddedStores(config: Config) {
  const lock = lockDataDir(config.dataDir)
  try {
    const db = openDatabase(config.dataDir)
    const eventStore = new SqliteEventStore(db)
    const readStore = new SqliteReadStore(db)
    const telemetry = new SqliteTelemetryStream(db, config.telemetryPartitions)
    return {
      db,
      eventStore,
      readStore,
      telemetry,
      async close() {
        await eventStore.close()
        await telemetry.close()
        await readStore.close()
        db.close()
        lock.release()
      },
    }
  } catch (error) {
    lock.release()
    throw error
  }
}

export async function startCapsicum(config: Config, options: CapsicumOptions = {}): Promise<Capsicum> {
  // A logger handed in gets the same redaction as our own.
  const logger = options.logger ? withSecretsKeptOut(options.logger) : createLogger(config.logLevel)
  const now = options.now ?? (() => new Date())
  const newId = (): string => randomUUID()
  const tokens = TokenService.load(config)
  const secretBox = AesGcmSecretBox.load(config)
  const secrets = new NodeSecrets(tokens.privateKey)
  const roles = options.roles ?? nodeRoles
  const stores = await openStores(config, openEmbeddedStores, logger)
  const { eventStore, readStore, telemetry } = stores

  const runner = new ProjectionRunner({ eventStore, readStore, projections: allProjections, logger })
  const readingHistory = new ReadingHistoryProjector({ eventStore, store: readStore.readingHistory(), logger })
  const ruleEngine = roles.includes('processor') ? new RuleEngine({ eventStore, readStore, now, newId, logger }) : undefined
  const processor = roles.includes('processor')
    ? new TelemetryProcessor({ telemetry, eventStore, hooks: [...(ruleEngine ? [ruleEngine] : []), ...(options.hooks ?? [])], logger, newId })
    : undefined
  // Side effects (e-mails) run where the projector runs: on one node at a time.
  const mailer = createMailer(config, logger)
  const deliveries = new DeliveryWorker({
    eventStore,
    now,
    logger,
    mailer,
    mailConfigured: config.mail.smtpUrl !== undefined,
    sms: createSmsSender(config.automation.sms),
    httpPush: createHttpPusher({ allowPrivate: config.automation.httpPushAllowPrivate, timeoutMs: config.automation.httpPushTimeoutMs }),
  })
  // Retries run where the reactors run; started after them, stopped before them.
  const retries = new RetryScheduler({ deliveries, readStore, now, logger })
  const scheduler = new JobScheduler({ eventStore, readStore, now, newId, logger })
  let listeningUrl = ''
  // The device endpoint; a node without the mqtt role that runs the reactors still
  // publishes commands, through Redis, when the cluster mode is on.
  const mqttListens = roles.includes('mqtt')
  let mqtt: MqttEndpoint | undefined
  try {
    if (mqttListens || (config.scaleOut.redisUrl && roles.includes('projector'))) {
      mqtt = await startMqttEndpoint({
        config, logger, now, newId, eventStore, readStore, telemetry, secretBox, listen: mqttListens,
        settled: (position) => readModelsReach(position),
      })
    }
  } catch (error) {
    mailer.close()
    await stores.close()
    throw error
  }
  const reactors = new ReactorRunner({
    eventStore,
    logger,
    reactors: allReactors({
      mailer,
      secrets,
      now,
      publicUrl: () => config.publicUrl ?? listeningUrl,
      deliveries,
      readStore,
      httpPushMaxAttempts: config.automation.httpPushMaxAttempts,
      deviceCommands: mqtt?.deviceCommands,
    }),
    checkpoints: {
      load: async (name) => (await readStore.loadCheckpoint(name))?.position,
      save: (name, position) => readStore.commit([], new Map([[name, { position, version: 1 }]])),
    },
  })
  // Several nodes on shared engines: the projector and the scheduler run on the one node
  // holding their lease (Redis), the others stand by. One process on SQLite needs none.
  const shared = needsLease(stores.engines)
  // Read models in this node's own SQLite file are projected by this node, whatever its
  // roles; shared ones (MongoDB) by the one projector node holding the lease.
  const sharedReadModels = stores.engines.readStore !== 'sqlite'
  const projectsHere = roles.includes('projector') || !sharedReadModels
  const projectorLease = sharedReadModels && roles.includes('projector')
  const schedulerLease = shared && roles.includes('scheduler')
  if ((projectorLease || schedulerLease) && !config.scaleOut.redisUrl) {
    await stores.close()
    throw new ConfigError([
      'REDIS_URL is not set: on shared engines the projector (MONGODB_URL) and scheduler (EVENTSTORE_URL or MONGODB_URL) roles need the Redis lease that keeps one of each active',
    ])
  }
  let leases: Leases | undefined
  const elections: LeaderElection[] = []
  /** Resolves once the read models include `position`: this node's projector, or the shared checkpoints. */
  const readModelsReach = (position: number): Promise<boolean> =>
    runner.status === 'running'
      ? runner.waitFor(position, config.readYourWritesTimeoutMs)
      : waitForCheckpoints(readStore, allProjections.map((p) => p.name), position, config.readYourWritesTimeoutMs)
  let shuttingDown = false
  /** aborted when shutdown begins: long-lived answers (event streams) end so the server can drain */
  const shutdown = new AbortController()
  const server: Server = createServer()
  try {
    if (projectsHere) {
      if (projectorLease) {
        leases ??= openLeases(config)
        const election = elect(leases, 'projector', config, logger, {
          start: async () => {
            await runner.start()
            await readingHistory.start()
            await reactors.start()
            await retries.start()
          },
          stop: async () => {
            await retries.stop()
            await reactors.stop()
            await readingHistory.stop()
            await runner.stop()
          },
        })
        elections.push(election)
        await election.start()
      } else {
        await runner.start()
        await readingHistory.start()
        await reactors.start()
        await retries.start()
      }
    }
    if (schedulerLease) {
      leases ??= openLeases(config)
      const election = elect(leases, 'scheduler', config, logger, { start: () => scheduler.start(), stop: () => scheduler.stop() })
      elections.push(election)
      await election.start()
    } else if (roles.includes('scheduler')) {
      await scheduler.start()
    }
    await ruleEngine?.start()
    processor?.start()
    const seeded = await seedBuiltIns({ eventStore, now, newId })
    if (seeded !== null) await readModelsReach(seeded)

    const openapi = new OpenApiDocument(apiDescription)
    const deps: RouteDeps = {
      eventStore,
      readStore,
      now,
      newId,
      openapi,
      secretBox,
      secrets,
      publicUrl: () => config.publicUrl ?? listeningUrl,
      accessTokens: {
        issuer: config.jwt.issuer,
        issue: (claims) => ({ token: tokens.sign(claims), expiresIn: tokens.accessTokenTtlSeconds }),
      },
      requireBearer: bearerAuthentication(tokens.verify),
      telemetry,
      shutdown: shutdown.signal,
      readModelsPosition: () => (runner.status === 'running' ? runner.position : undefined),
      readYourWrites: async (position) => {
        if (position === null) return
        const reached = await readModelsReach(position)
        if (!reached) logger.warn({ position, lag: runner.position }, 'read models lag behind a write; answering anyway')
      },
    }
    const app = createHttpApp({
      logger,
      bodyLimitBytes: config.bodyLimitBytes,
      routers: roles.includes('api') ? platformRoutes(deps) : [],
      openapi,
      jwks: () => tokens.jwks(),
      isShuttingDown: () => shuttingDown,
      healthChecks: [
        { name: 'eventStore', check: () => eventStore.ping() },
        { name: 'readStore', check: () => readStore.ping() },
        { name: 'telemetryStream', check: () => telemetry.ping() },
        {
          name: 'projections',
          check: async () => {
            // A node without the projector role, or a standby, is ready without running it.
            if (!projectsHere || (projectorLease && runner.status === 'stopped')) return
            if (runner.status !== 'running') throw new Error(`projection runner is ${runner.status}`)
          },
        },
      ],
    })

    server.on('request', app)
    mqtt?.attachWebSocket(server)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(config.port, config.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
  } catch (error) {
    shutdown.abort()
    await mqtt?.close()
    await processor?.stop()
    await ruleEngine?.stop()
    for (const election of elections) await election.stop()
    await scheduler.stop()
    await retries.stop()
    await reactors.stop()
    await readingHistory.stop()
    await runner.stop()
    mailer.close()
    await leases?.close()
    await stores.close()
    throw error
  }
  const port = (server.address() as AddressInfo).port
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  listeningUrl = url
  const mqttPort = mqtt?.port ?? null
  const mqttUrl = mqtt?.url ?? null
  const mqttTlsPort = mqtt?.tlsPort ?? null
  logger.info({ url, docs: `${url}/docs`, mqttPort, mqttUrl, mqttTlsPort, dataDir: config.dataDir, roles, engines: stores.engines }, 'Capsicum is listening')

  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= (async () => {
      shuttingDown = true
      shutdown.abort()
      logger.info('shutting down: no new connections, finishing requests in flight')
      const drained = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      const timer = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs)
      // devices first (WebSocket ones hold HTTP sockets); their last records reach the stream
      await mqtt?.close()
      await drained
      clearTimeout(timer)
      await processor?.stop()
      await ruleEngine?.stop()
      for (const election of elections) await election.stop()
      await scheduler.stop()
      await retries.stop()
      await reactors.stop()
      await readingHistory.stop()
      await runner.stop()
      mailer.close()
      await leases?.close()
      await stores.close()
      logger.info('stopped')
    })()
    return closing
  }

  return { url, port, mqttPort, mqttUrl, mqttTlsPort, logger, tokens, eventStore, readStore, telemetry, runner, readingHistory, processor, ruleEngine, roles, server, close }
}
